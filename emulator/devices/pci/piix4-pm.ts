/**
 * Piix4Pm: the power-management function of the Intel 82371AB PIIX4 (8086:7113,
 * revision 03h), placed at 00:01.3 on QEMU's "pc" machine next to a PIIX3, exactly as
 * QEMU's hw/acpi/piix4.c does.
 *
 * Follows the Intel 82371AB datasheet section 3.7 (PMBA at 40h, bits 15:6 the base of
 * a 64-byte I/O block, bit 0 hard-wired 1; PMREGMISC at 80h bit 0 PMIOSE enables it;
 * DEVACTB at 58h with APMC_EN = bit 25; SMBBA at 90h and SMBHSTCFG at D2h, kept as
 * storage) and the ACPI specification 3.0 section 4.7.3 for the fixed hardware in the
 * block: PM1a_EVT (PM1_STS at +0 with write-1-to-clear bits, PM1_EN at +2), PM1a_CNT at
 * +4 (SCI_EN, SLP_TYPx, SLP_EN) and PM_TMR at +8 (24-bit, or 32-bit as an option,
 * counting at 3.579545 MHz from the injected Clock; TMR_STS is set whenever the
 * counter's top bit toggles). The GPE0 block (STS 2 bytes, EN 2 bytes) is a separate
 * handler that QEMU places at AFE0h. SCI is a level on the injected IrqLine (IRQ 9).
 *
 * As in QEMU: SLP_TYP 0 means S5 (soft off, the `_S5` package of QEMU's piix4 DSDT
 * is {0, 0}), SLP_TYP 1 is S3 and SLP_TYP `s4Value` (default 2) is S4, which powers
 * off; the SCI level ignores SCI_EN; ACPI enable/disable arrive as APM commands F1h/F0h
 * written to port B2h (`apmCommand`). Without SMM, APMC_EN is preset at power-on (QEMU's
 * smm=off behaviour) so SeaBIOS skips its SMM relocation handshake.
 *
 * Left out: SMBus controller, device monitors/traps, GPI/GPO, throttling, suspend
 * resume (S3 is reported to the board, which may ignore it), CPU/PCI/memory hot-plug.
 */
import type { AccessSize, IoHandler, IrqLine, ResetKind } from '../device.js';
import type { Clock, Scheduler, TimerHandle } from '../../time/clock.js';
import { type GuestLog, PciFunction } from './pci-function.js';

/** PM base address register (PMBA). */
export const PIIX4_PMBA = 0x40;
/** DEVACTB; byte 5Bh bit 1 is APMC_EN. */
export const PIIX4_DEVACTB = 0x58;
/** PMREGMISC; bit 0 enables the PM I/O block. */
export const PIIX4_PMREGMISC = 0x80;
/** SMBus base address register. */
export const PIIX4_SMBBA = 0x90;
/** SMBus host configuration. */
export const PIIX4_SMBHSTCFG = 0xd2;
/** Size of the PM I/O block. */
export const PIIX4_PM_IO_SIZE = 64;
/** Size of the GPE0 block. */
export const PIIX4_GPE0_SIZE = 4;
/** PM timer frequency in Hz (ACPI 4.7.3.3). */
export const PM_TIMER_FREQ_HZ = 3_579_545;

/** PM1 status/enable bits (ACPI table 4-12/4-13). */
export const PM1_TMR = 0x0001;
export const PM1_BM_STS = 0x0010;
export const PM1_GBL = 0x0020;
export const PM1_PWRBTN = 0x0100;
export const PM1_SLPBTN = 0x0200;
export const PM1_RTC = 0x0400;
export const PM1_WAK_STS = 0x8000;
/** Enable bits that can raise SCI. */
const PM1_SCI_ENABLES = PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC;
/** PM1_STS bits implemented. */
const PM1_STS_BITS = PM1_SCI_ENABLES | PM1_BM_STS | PM1_WAK_STS;

/** PM1 control bits (ACPI table 4-16). */
export const PM1_CNT_SCI_EN = 0x0001;
export const PM1_CNT_SLP_TYP_SHIFT = 10;
export const PM1_CNT_SLP_EN = 0x2000;

/** APM command values QEMU's FADT advertises (ACPI_ENABLE / ACPI_DISABLE). */
export const APM_ACPI_ENABLE = 0xf1;
export const APM_ACPI_DISABLE = 0xf0;

const OFS_PM1_STS = 0x00;
const OFS_PM1_EN = 0x02;
const OFS_PM1_CNT = 0x04;
const OFS_PM_TMR = 0x08;

/** Construction options. */
export interface Piix4PmOptions {
  readonly id?: string;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** The SCI line (ISA IRQ 9 on the pc machine). */
  readonly sci: IrqLine;
  /** The PM I/O block now decodes at `base` (64 ports), or nowhere: register `pmIo` there. */
  readonly onPmIoChange?: (base: number | null) => void;
  /** Guest requested S5 (or S4) power-off through PM1_CNT. */
  readonly onPowerOff?: () => void;
  /** Guest requested another sleep state (SLP_TYP value); ignored when absent. */
  readonly onSleep?: (slpTyp: number) => void;
  /** An APM command other than ACPI enable/disable with APMC_EN set (an SMI on hardware). */
  readonly onSmi?: () => void;
  /** Set when the CPU implements SMM; otherwise APMC_EN is preset (QEMU smm=off). */
  readonly smmEnabled?: boolean;
  /** 32-bit PM timer (FADT TMR_VAL_EXT); default 24-bit like PIIX4. */
  readonly timer32Bit?: boolean;
  /** SLP_TYP value meaning S4 (QEMU default 2). */
  readonly s4Value?: number;
  /** SMBus I/O base preset at power-on (QEMU pc: 0xb100). */
  readonly smbusBase?: number;
  /**
   * Legacy ports present on the ISA bus, reported in DEVRESD (5Fh) and DEVRESB (67h)
   * as QEMU's piix4_pm_machine_ready does. Default: COM1 only.
   */
  readonly isaPorts?: { readonly com1?: boolean; readonly com2?: boolean; readonly lpt?: boolean };
  readonly log?: GuestLog;
}

/** The PIIX4 ACPI/PM function. */
export class Piix4Pm extends PciFunction {
  /** The 64-port PM I/O block (PM1 event/control, PM timer); map at the PMBA base. */
  readonly pmIo: IoHandler;
  /** The GPE0 block (4 ports, QEMU: AFE0h). */
  readonly gpe0: IoHandler;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly sci: IrqLine;
  private readonly onPmIoChange: ((base: number | null) => void) | undefined;
  private readonly onPowerOff: (() => void) | undefined;
  private readonly onSleep: ((slpTyp: number) => void) | undefined;
  private readonly onSmi: (() => void) | undefined;
  private readonly smmEnabled: boolean;
  private readonly timerBits: 24 | 32;
  private readonly s4Value: number;
  private pm1Sts = 0;
  private pm1En = 0;
  private pm1Cnt = 0;
  private gpeSts = 0;
  private gpeEn = 0;
  /** PM timer tick at which TMR_STS is next set. */
  private overflowTick = 0;
  private timer: TimerHandle | undefined;
  private reportedBase: number | null = null;

  constructor(opts: Piix4PmOptions) {
    super({
      id: opts.id ?? 'piix4-pm',
      vendorId: 0x8086, deviceId: 0x7113, revision: 0x03, classCode: 0x068000,
      interruptPin: 1,
      log: opts.log,
    });
    this.clock = opts.clock;
    this.scheduler = opts.scheduler;
    this.sci = opts.sci;
    this.onPmIoChange = opts.onPmIoChange;
    this.onPowerOff = opts.onPowerOff;
    this.onSleep = opts.onSleep;
    this.onSmi = opts.onSmi;
    this.smmEnabled = opts.smmEnabled ?? false;
    this.timerBits = opts.timer32Bit ? 32 : 24;
    this.s4Value = opts.s4Value ?? 2;

    this.setDefault(0x06, 2, 0x0280);
    this.setDefault(PIIX4_PMBA, 4, 0x00000001);
    this.setMasks(PIIX4_PMBA, 4, 0x0000ffc0);
    this.setMasks(PIIX4_PMREGMISC, 1, 0x01);
    if (!this.smmEnabled) this.setDefault(PIIX4_DEVACTB + 3, 1, 0x02);
    const smb = opts.smbusBase ?? 0;
    this.setDefault(PIIX4_SMBBA, 4, ((smb & 0xfff0) | 1) >>> 0);
    this.setMasks(PIIX4_SMBBA, 4, 0x0000fff0);
    this.setDefault(PIIX4_SMBHSTCFG, 1, 0x09);
    // Device resource registers with QEMU's machine-ready values.
    const ports = opts.isaPorts ?? { com1: true };
    this.setDefault(0x5f, 1, 0x10 | (ports.lpt ? 0x80 : 0));
    this.setDefault(0x63, 1, 0x60);
    this.setDefault(0x67, 1, (ports.com1 ? 0x08 : 0) | (ports.com2 ? 0x90 : 0));

    this.overflowTick = this.nextOverflow(this.nowTicks());
    this.pmIo = {
      minSize: 1, maxSize: 4,
      read: (offset, size) => this.readPm(offset, size),
      write: (offset, size, value) => this.writePm(offset, size, value),
    };
    this.gpe0 = {
      minSize: 1, maxSize: 4,
      read: (offset, size) => this.readGpe(offset, size),
      write: (offset, size, value) => this.writeGpe(offset, size, value),
    };
  }

  // ---- board / host API ----------------------------------------------------------

  /**
   * The power button was pressed: sets PWRBTN_STS (and raises SCI) when the guest has
   * enabled PWRBTN_EN. Returns whether the guest was notified.
   */
  pressPowerButton(): boolean {
    if (!(this.pm1En & PM1_PWRBTN)) return false;
    this.pm1Sts |= PM1_PWRBTN;
    this.updateSci();
    return true;
  }

  /** Sets GPE0 status bits (e.g. hot-plug events); raises SCI when enabled. */
  raiseGpe(bits: number): void {
    this.gpeSts = (this.gpeSts | bits) & 0xffff;
    this.updateSci();
  }

  /** A write to the APM control port (B2h). Wire `Apm.onControlWrite` here. */
  apmCommand(value: number): void {
    if (value === APM_ACPI_ENABLE) { this.pm1Cnt |= PM1_CNT_SCI_EN; return; }
    if (value === APM_ACPI_DISABLE) { this.pm1Cnt &= ~PM1_CNT_SCI_EN; return; }
    if (this.reg8(PIIX4_DEVACTB + 3) & 0x02) this.onSmi?.();
  }

  /** The I/O base the PM block decodes at, or null when disabled. */
  get pmIoBase(): number | null {
    return this.reportedBase;
  }

  /** The PM timer value now. */
  pmTimer(): number {
    const t = this.nowTicks();
    return this.timerBits === 32 ? t % 0x1_0000_0000 : t % 0x100_0000;
  }

  /** ACPI mode (SCI_EN) is on. */
  get acpiEnabled(): boolean {
    return (this.pm1Cnt & PM1_CNT_SCI_EN) !== 0;
  }

  // ---- PCI hooks -------------------------------------------------------------------

  protected override onConfigUpdated(first: number, last: number): void {
    const touches = (a: number, b: number): boolean => first <= b && last >= a;
    if (!touches(PIIX4_PMBA, PIIX4_PMBA + 3) && !touches(PIIX4_PMREGMISC, PIIX4_PMREGMISC)) return;
    const enabled = (this.reg8(PIIX4_PMREGMISC) & 1) !== 0;
    const base = enabled ? this.reg32(PIIX4_PMBA) & 0xffc0 : null;
    if (base === this.reportedBase) return;
    this.reportedBase = base;
    this.onPmIoChange?.(base);
  }

  protected override resetDevice(_kind: ResetKind): void {
    this.pm1Sts = 0;
    this.pm1En = 0;
    this.pm1Cnt = 0;
    this.gpeSts = 0;
    this.gpeEn = 0;
    this.overflowTick = this.nextOverflow(this.nowTicks());
    this.updateSci();
  }

  // ---- PM I/O block ----------------------------------------------------------------

  private readPm(offset: number, size: AccessSize): number {
    let v = 0;
    const tmr = offset + size > OFS_PM_TMR && offset < OFS_PM_TMR + 4 ? this.pmTimer() : 0;
    const sts = offset < OFS_PM1_STS + 2 ? this.pm1Status() : 0;
    for (let i = size - 1; i >= 0; i--) {
      const o = offset + i;
      let b: number;
      if (o < 2) b = sts >> (8 * o);
      else if (o < 4) b = this.pm1En >> (8 * (o - 2));
      else if (o < 6) b = this.pm1Cnt >> (8 * (o - 4));
      else if (o >= OFS_PM_TMR && o < OFS_PM_TMR + 4) b = Math.floor(tmr / 2 ** (8 * (o - OFS_PM_TMR)));
      else b = 0;
      v = v * 256 + (b & 0xff);
    }
    return v >>> 0;
  }

  private writePm(offset: number, size: AccessSize, value: number): void {
    const bytes = new Map<number, number>();
    for (let i = 0; i < size; i++) bytes.set(offset + i, (value >>> (8 * i)) & 0xff);
    const field = (base: number): { v: number; mask: number } | null => {
      const lo = bytes.get(base);
      const hi = bytes.get(base + 1);
      if (lo === undefined && hi === undefined) return null;
      return { v: (lo ?? 0) | ((hi ?? 0) << 8), mask: (lo !== undefined ? 0xff : 0) | (hi !== undefined ? 0xff00 : 0) };
    };
    const sts = field(OFS_PM1_STS);
    if (sts) {
      const clear = sts.v & sts.mask;
      if (clear & PM1_TMR & this.pm1Status()) this.overflowTick = this.nextOverflow(this.nowTicks());
      this.pm1Sts &= ~clear;
    }
    const en = field(OFS_PM1_EN);
    if (en) this.pm1En = ((this.pm1En & ~en.mask) | (en.v & en.mask)) & PM1_SCI_ENABLES;
    const cnt = field(OFS_PM1_CNT);
    if (cnt) this.writeCnt((this.pm1Cnt & ~cnt.mask) | (cnt.v & cnt.mask));
    if (sts || en) this.updateSci();
    for (const o of bytes.keys()) {
      if (o >= 6 && !(o >= OFS_PM_TMR && o < OFS_PM_TMR + 4)) {
        this.misuse(`write to unimplemented PM register +0x${o.toString(16)}`);
        break;
      }
    }
  }

  private writeCnt(v: number): void {
    this.pm1Cnt = v & ~PM1_CNT_SLP_EN & 0xffff;
    if (!(v & PM1_CNT_SLP_EN)) return;
    const typ = (v >> PM1_CNT_SLP_TYP_SHIFT) & 7;
    if (typ === 0 || typ === this.s4Value) {
      this.onPowerOff?.();
    } else if (this.onSleep) {
      this.onSleep(typ);
    } else {
      this.misuse(`sleep request SLP_TYP=${typ} ignored`);
    }
  }

  // ---- GPE0 block --------------------------------------------------------------------

  private readGpe(offset: number, size: AccessSize): number {
    const regs = this.gpeSts | (this.gpeEn << 16);
    const shifted = Math.floor((regs >>> 0) / 2 ** (8 * offset));
    return size === 4 ? shifted >>> 0 : shifted & (size === 2 ? 0xffff : 0xff);
  }

  private writeGpe(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = (value >>> (8 * i)) & 0xff;
      if (o < 2) this.gpeSts &= ~(b << (8 * o));
      else if (o < 4) this.gpeEn = (this.gpeEn & ~(0xff << (8 * (o - 2)))) | (b << (8 * (o - 2)));
    }
    this.updateSci();
  }

  // ---- timer and SCI -----------------------------------------------------------------

  /** PM timer ticks since power-on, exact for any virtual time. */
  private nowTicks(): number {
    const ns = this.clock.nowNs();
    const sec = Math.floor(ns / 1e9);
    const rem = ns - sec * 1e9;
    return sec * PM_TIMER_FREQ_HZ + Math.floor((rem * PM_TIMER_FREQ_HZ) / 1e9);
  }

  /** First tick after `tick` at which the counter's top bit toggles. */
  private nextOverflow(tick: number): number {
    const period = 2 ** (this.timerBits - 1);
    return (Math.floor(tick / period) + 1) * period;
  }

  /** PM1_STS with TMR_STS latched if the timer's top bit toggled since the last clear. */
  private pm1Status(): number {
    if (this.nowTicks() >= this.overflowTick) this.pm1Sts |= PM1_TMR;
    return this.pm1Sts;
  }

  private updateSci(): void {
    const sts = this.pm1Status();
    const level = (sts & this.pm1En & PM1_SCI_ENABLES) !== 0 || (this.gpeSts & this.gpeEn) !== 0;
    this.sci.set(level);
    this.timer?.cancel();
    this.timer = undefined;
    if ((this.pm1En & PM1_TMR) && !(sts & PM1_TMR)) {
      const deadlineNs = Number((BigInt(this.overflowTick) * 1_000_000_000n + BigInt(PM_TIMER_FREQ_HZ - 1)) / BigInt(PM_TIMER_FREQ_HZ));
      this.timer = this.scheduler.at(deadlineNs, () => {
        this.timer = undefined;
        this.updateSci();
      });
    }
  }

  // ---- state -----------------------------------------------------------------------------

  /** PCI state plus the ACPI registers. */
  override saveState(): {
    v: 1; config: string; intx: boolean;
    pm1Sts: number; pm1En: number; pm1Cnt: number; gpeSts: number; gpeEn: number; overflowTick: number;
  } {
    return {
      ...this.savePciState(),
      pm1Sts: this.pm1Status(), pm1En: this.pm1En, pm1Cnt: this.pm1Cnt,
      gpeSts: this.gpeSts, gpeEn: this.gpeEn, overflowTick: this.overflowTick,
    };
  }

  /** Validates, then applies, a state from `saveState`; re-arms the overflow timer. */
  override loadState(state: unknown): void {
    const p = this.parsePciState(state);
    const s = state as Record<string, unknown>;
    const u16 = (name: string, mask: number): number => {
      const v = s[name];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff || (v & ~mask) !== 0) {
        throw new TypeError(`${this.id}: ${name} must be a 16-bit register value`);
      }
      return v;
    };
    const pm1Sts = u16('pm1Sts', PM1_STS_BITS);
    const pm1En = u16('pm1En', PM1_SCI_ENABLES);
    const pm1Cnt = u16('pm1Cnt', 0xffff & ~PM1_CNT_SLP_EN);
    const gpeSts = u16('gpeSts', 0xffff);
    const gpeEn = u16('gpeEn', 0xffff);
    const ot = s['overflowTick'];
    if (typeof ot !== 'number' || !Number.isSafeInteger(ot) || ot < 0) throw new TypeError(`${this.id}: overflowTick must be a tick count`);
    this.pm1Sts = pm1Sts;
    this.pm1En = pm1En;
    this.pm1Cnt = pm1Cnt;
    this.gpeSts = gpeSts;
    this.gpeEn = gpeEn;
    this.overflowTick = ot;
    this.applyPciState(p);
    this.updateSci();
  }
}
