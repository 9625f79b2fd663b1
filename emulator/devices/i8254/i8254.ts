/**
 * Intel 8254 programmable interval timer as wired in the PC: three counters clocked at
 * 1.193182 MHz; counter 0's OUT drives IRQ0, counter 1 (DRAM refresh) is unconnected,
 * counter 2's GATE and OUT are on port 0x61 (port61.ts) and feed the speaker.
 *
 * Follows: Intel 8254 datasheet (231164), "Control Word Format" (SC1/SC0 = 11 is the
 * read-back command), "Read-Back Command", "Counter Latch Command"; counters in
 * pit-channel.ts. Time is virtual: values are computed from the injected Clock and the
 * IRQ0 edges are produced by one Scheduler timer armed for the next OUT transition of
 * counter 0 (no polling). Power-on state as in QEMU (hw/timer/i8254_common.c
 * pit_reset_common): every counter in mode 3 with count 65536, so IRQ0 runs at 18.2 Hz
 * until the BIOS reprograms it; counter 2's gate is low.
 * Leaves out: the speaker's audio (the board can read counter 2 with `channelInfo`);
 * HPET legacy-replacement mode (a board-level IRQ0 switch).
 */
import type { Clock, Scheduler, TimerHandle } from '../../time/clock.js';
import type { AccessSize, Device, DeviceState, IoHandler, IrqLine, ResetKind } from '../device.js';
import { PitChannel, RW_LATCH } from './pit-channel.js';
import { obj, version } from '../state-check.js';

/** Port offset of the control word register (write-only). */
export const OFS_CONTROL = 3;
/** Control word: SC1/SC0 = 11 selects the read-back command. */
export const SC_READ_BACK = 3;
/** Read-back: COUNT bit (0 = latch count). */
export const RB_COUNT = 0x20;
/** Read-back: STATUS bit (0 = latch status). */
export const RB_STATUS = 0x10;

/** Dependencies of I8254. */
export interface I8254Options {
  /** IRQ0: counter 0's OUT. */
  irq: IrqLine;
  clock: Clock;
  scheduler: Scheduler;
  /** Optional logger for guest misuse (rate-limit there). */
  log?: (message: string) => void;
  /** Device id (default "i8254"). */
  id?: string;
}

/** Snapshot of one counter for the board (speaker) and diagnostics. */
export interface PitChannelInfo {
  mode: number;
  /** Initial count N (65536 for a written 0). */
  count: number;
  gate: boolean;
  out: boolean;
  /** Whether the counter is counting. */
  running: boolean;
}

/** The PIT. Register `io` at ports 0x40-0x43. */
export class I8254 implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** Counters 0-2 and the control word register (register at 0x40, length 4). */
  readonly io: IoHandler;
  /** Reads of the write-only control register. */
  controlReads = 0;
  private channels: [PitChannel, PitChannel, PitChannel];
  private readonly log: ((message: string) => void) | undefined;
  private readonly irq: IrqLine;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private irqLevel = false;
  private timer: TimerHandle | undefined;

  constructor(opts: I8254Options) {
    this.id = opts.id ?? 'i8254';
    this.irq = opts.irq;
    this.clock = opts.clock;
    this.scheduler = opts.scheduler;
    this.log = opts.log;
    this.channels = [new PitChannel(opts.log), new PitChannel(opts.log), new PitChannel(opts.log)];
    this.io = {
      minSize: 1,
      maxSize: 1,
      read: (offset: number, _size: AccessSize) => this.read(offset & 3),
      write: (offset: number, _size: AccessSize, value: number) => this.write(offset & 3, value & 0xff),
    };
    this.powerOn();
  }

  /** Drives counter `n`'s GATE input (counter 2: port 0x61 bit 0). */
  setGate(n: 0 | 1 | 2, level: boolean): void {
    this.channels[n].setGate(level, this.clock.nowNs());
    if (n === 0) this.sync();
  }

  /** Counter `n`'s OUT level now. */
  output(n: 0 | 1 | 2): boolean {
    return this.channels[n].out(this.clock.nowNs());
  }

  /** Counter `n`'s programming and pins. */
  channelInfo(n: 0 | 1 | 2): PitChannelInfo {
    const c = this.channels[n];
    const now = this.clock.nowNs();
    return { mode: c.mode, count: c.count, gate: c.gate, out: c.out(now), running: c.armed && !c.frozen };
  }

  private read(offset: number): number {
    if (offset === OFS_CONTROL) {
      this.controlReads++;
      return 0; // write-only; QEMU returns 0
    }
    return this.channels[offset]!.read(this.clock.nowNs());
  }

  private write(offset: number, value: number): void {
    const now = this.clock.nowNs();
    if (offset !== OFS_CONTROL) {
      this.channels[offset]!.write(value, now);
      if (offset === 0) this.sync();
      return;
    }
    const sc = value >> 6;
    if (sc === SC_READ_BACK) {
      for (let n = 0; n < 3; n++) {
        if (!(value & (2 << n))) continue;
        const c = this.channels[n]!;
        if (!(value & RB_COUNT)) c.latchCount(now);
        if (!(value & RB_STATUS)) c.latchStatus(now);
      }
      return;
    }
    const c = this.channels[sc]!;
    const rw = (value >> 4) & 3;
    if (rw === RW_LATCH) {
      c.latchCount(now);
      return;
    }
    c.control(rw, (value >> 1) & 7, (value & 1) !== 0, now);
    if (sc === 0) this.sync();
  }

  /** Drives IRQ0 from counter 0's OUT and arms the timer for its next transition. */
  private sync(): void {
    const now = this.clock.nowNs();
    const c = this.channels[0];
    const out = c.out(now);
    if (out !== this.irqLevel) {
      this.irqLevel = out;
      this.irq.set(out);
    }
    this.timer?.cancel();
    this.timer = undefined;
    const next = c.nextTransitionNs(now);
    if (next >= 0) this.timer = this.scheduler.at(next, () => { this.timer = undefined; this.sync(); });
  }

  private powerOn(): void {
    const now = this.clock.nowNs();
    this.channels.forEach((c, n) => {
      c.gate = n !== 2;
      c.control(3, 3, false, now); // LSB+MSB, mode 3, binary
      c.write(0, now);
      c.write(0, now);
    });
    this.sync();
  }

  /** @inheritdoc */
  reset(_kind: ResetKind): void {
    this.channels = [new PitChannel(this.log), new PitChannel(this.log), new PitChannel(this.log)];
    this.controlReads = 0;
    this.powerOn();
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    const now = this.clock.nowNs();
    return { v: 1, irqLevel: this.irqLevel, channels: this.channels.map((c) => c.save(now)) };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    if (!Array.isArray(s.channels) || s.channels.length !== 3) throw new Error(`${this.id}.channels: expected 3 counters`);
    const chans = (s.channels as unknown[]).map((c, i) => PitChannel.validate(`${this.id}.channels[${i}]`, c));
    if (typeof s.irqLevel !== 'boolean') throw new Error(`${this.id}.irqLevel: expected a boolean`);
    const now = this.clock.nowNs();
    chans.forEach((c, i) => this.channels[i]!.apply(c, now));
    // The interrupt controller keeps its own copy of the line; re-assert the saved level
    // (a no-op edge-wise if it matches) and re-arm the timer (QEMU pit_post_load).
    this.irqLevel = s.irqLevel;
    this.irq.set(this.irqLevel);
    this.sync();
  }
}
