/**
 * NMI status and control register (port 0x61, PC/AT "port B"): PIT counter 2 gate and
 * speaker data enable, the refresh-request toggle that software uses for delays, and the
 * NMI source status bits.
 *
 * Follows: Intel 82371AB (PIIX4) datasheet, "NMI Status and Control Register" (NMISC):
 * bit 0 TIM_CNT2_EN (counter 2 gate), bit 1 SPKR_DAT_EN, bit 2 PCI SERR# enable (active
 * low), bit 3 IOCHK# enable (active low), bit 4 REF_TOGGLE (read-only, flips every
 * 15.085 us of virtual time), bit 5 TIM_CNT2_OUT (read-only), bit 6 IOCHK# NMI source,
 * bit 7 SERR# NMI source. QEMU hw/audio/pcspk.c for the layout.
 * Leaves out: NMI sources (IOCHK#/SERR# never assert here, so bits 6-7 read 0) and the
 * audio output (the board can observe `speakerEnabled` and PIT counter 2).
 */
import type { Clock } from '../../time/clock.js';
import type { AccessSize, Device, DeviceState, IoHandler, ResetKind } from '../device.js';
import { int, obj, version } from '../state-check.js';

/** Bit 0: PIT counter 2 gate. */
export const NMISC_TIM_CNT2_EN = 0x01;
/** Bit 1: speaker data enable. */
export const NMISC_SPKR_DAT_EN = 0x02;
/** Bit 2: PCI SERR# NMI disable. */
export const NMISC_PCI_SERR_EN = 0x04;
/** Bit 3: IOCHK# NMI disable. */
export const NMISC_IOCHK_EN = 0x08;
/** Bit 4: refresh toggle. */
export const NMISC_REF_TOGGLE = 0x10;
/** Bit 5: PIT counter 2 OUT. */
export const NMISC_TIM_CNT2_OUT = 0x20;
/** Half period of the refresh toggle (15.085 us). */
export const REFRESH_PERIOD_NS = 15_085;

/** What port 0x61 needs from the PIT. */
export interface Counter2Pins {
  setGate(n: 2, level: boolean): void;
  output(n: 2): boolean;
}

/** Dependencies of Port61. */
export interface Port61Options {
  /** PIT counter 2's GATE/OUT (an I8254). */
  pit: Counter2Pins;
  clock: Clock;
  /** Optional observer of the speaker enable (gate AND data bit). */
  onSpeaker?: (enabled: boolean) => void;
  /** Device id (default "port61"). */
  id?: string;
}

/** NMI status and control port. Register `io` at 0x61 (length 1). */
export class Port61 implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** The handler for port 0x61. */
  readonly io: IoHandler;
  /** Writable bits 0-3 as last written. */
  private control = 0;

  constructor(private readonly opts: Port61Options) {
    this.id = opts.id ?? 'port61';
    this.io = {
      minSize: 1,
      maxSize: 1,
      read: (_offset: number, _size: AccessSize) => this.read(),
      write: (_offset: number, _size: AccessSize, value: number) => this.write(value & 0x0f),
    };
  }

  /** True while the speaker is driven by counter 2 (gate and data enable both set). */
  get speakerEnabled(): boolean {
    return (this.control & (NMISC_TIM_CNT2_EN | NMISC_SPKR_DAT_EN)) === (NMISC_TIM_CNT2_EN | NMISC_SPKR_DAT_EN);
  }

  private read(): number {
    const toggle = Math.floor(this.opts.clock.nowNs() / REFRESH_PERIOD_NS) & 1 ? NMISC_REF_TOGGLE : 0;
    return this.control | toggle | (this.opts.pit.output(2) ? NMISC_TIM_CNT2_OUT : 0);
  }

  private write(value: number): void {
    const before = this.speakerEnabled;
    const gateChanged = ((value ^ this.control) & NMISC_TIM_CNT2_EN) !== 0;
    this.control = value;
    if (gateChanged) this.opts.pit.setGate(2, (value & NMISC_TIM_CNT2_EN) !== 0);
    if (before !== this.speakerEnabled) this.opts.onSpeaker?.(this.speakerEnabled);
  }

  /** @inheritdoc */
  reset(_kind: ResetKind): void {
    this.control = 0;
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    return { v: 1, control: this.control };
  }

  /** @inheritdoc Counter 2's gate is part of the PIT's own state. */
  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    this.control = int(this.id, s, 'control', 0, 0x0f);
  }
}
