/**
 * Motorola MC146818A real-time clock with 128 bytes of CMOS RAM, as in the PC/AT
 * (index port 0x70 whose bit 7 disables NMI, data port 0x71; IRQ8).
 *
 * Follows: Motorola MC146818A datasheet, "Address Map", "Time, Calendar and Alarm
 * Locations", "Register A" (UIP, DV2-DV0, RS3-RS0 periodic rates for a 32.768 kHz time
 * base), "Register B" (SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE), "Register C" (IRQF,
 * PF, AF, UF; cleared by reading), "Register D" (VRT), "Update Cycle" (UIP is set
 * 244 us before the update), "Interrupts" (alarm "don't care" codes 0xC0-0xFF); QEMU
 * hw/rtc/mc146818rtc.c for PC conventions: the century byte at 0x32, divider reset
 * release delays the first update by 500 ms, reads of 0x70 return 0xff.
 *
 * Time: guest seconds = baseSec + floor((now - phaseNs) / 1 s) while the clock runs (SET
 * clear and the divider not in reset). The start time is the host UTC date given at
 * construction; afterwards only virtual time moves it. The time registers are refreshed
 * from it when read. Interrupts use the injected Scheduler: the periodic timer runs
 * only while PIE is set, the once-a-second timer only while UIE or AIE is set; UF and AF
 * are otherwise computed lazily when register C is read (as QEMU does).
 *
 * Leaves out: the SQW pin, daylight saving (DSE), the 0x72/0x73 extended bank, and PF
 * while PIE is clear (set only by the periodic timer, which runs only with PIE).
 */
import type { Clock, Scheduler, TimerHandle } from '../../time/clock.js';
import type { AccessSize, Device, DeviceState, IoHandler, IrqLine, ResetKind } from '../device.js';
import type { CmosWriter } from './cmos-layout.js';
import { epochFromFields, fieldsFromEpoch, fromReg, hourFromReg, hourToReg, toReg } from './rtc-time.js';
import { bool, int, ints, num, obj, version } from '../state-check.js';

/** Register index: seconds. */
export const RTC_SECONDS = 0x00;
/** Register index: seconds alarm. */
export const RTC_SECONDS_ALARM = 0x01;
/** Register index: minutes. */
export const RTC_MINUTES = 0x02;
/** Register index: minutes alarm. */
export const RTC_MINUTES_ALARM = 0x03;
/** Register index: hours. */
export const RTC_HOURS = 0x04;
/** Register index: hours alarm. */
export const RTC_HOURS_ALARM = 0x05;
/** Register index: day of week (1 = Sunday). */
export const RTC_DAY_OF_WEEK = 0x06;
/** Register index: day of month. */
export const RTC_DAY_OF_MONTH = 0x07;
/** Register index: month. */
export const RTC_MONTH = 0x08;
/** Register index: year within the century. */
export const RTC_YEAR = 0x09;
/** Register index: register A. */
export const RTC_REG_A = 0x0a;
/** Register index: register B. */
export const RTC_REG_B = 0x0b;
/** Register index: register C (read-only, cleared on read). */
export const RTC_REG_C = 0x0c;
/** Register index: register D (read-only). */
export const RTC_REG_D = 0x0d;
/** PC convention: the century, in the same BCD/binary mode as the other time registers. */
export const RTC_CENTURY = 0x32;

/** Register A: update in progress. */
export const REG_A_UIP = 0x80;
/** Register A: divider select bits DV2-DV0. */
export const REG_A_DV = 0x70;
/** Register A: rate select RS3-RS0. */
export const REG_A_RS = 0x0f;
/** Register B: SET (stop updates, allow time setting). */
export const REG_B_SET = 0x80;
/** Register B: periodic interrupt enable. */
export const REG_B_PIE = 0x40;
/** Register B: alarm interrupt enable. */
export const REG_B_AIE = 0x20;
/** Register B: update-ended interrupt enable. */
export const REG_B_UIE = 0x10;
/** Register B: square-wave enable. */
export const REG_B_SQWE = 0x08;
/** Register B: data mode, 1 = binary, 0 = BCD. */
export const REG_B_DM = 0x04;
/** Register B: 1 = 24-hour mode. */
export const REG_B_24H = 0x02;
/** Register B: daylight saving enable. */
export const REG_B_DSE = 0x01;
/** Register C: interrupt request flag. */
export const REG_C_IRQF = 0x80;
/** Register C: periodic interrupt flag. */
export const REG_C_PF = 0x40;
/** Register C: alarm flag. */
export const REG_C_AF = 0x20;
/** Register C: update-ended flag. */
export const REG_C_UF = 0x10;
/** Register D: valid RAM and time. */
export const REG_D_VRT = 0x80;
/** Index port bit 7: NMI disable. */
export const NMI_DISABLE = 0x80;

const NS_PER_S = 1_000_000_000;
/** 32.768 kHz time-base period, exact in binary floating point. */
const TICK_NS = NS_PER_S / 32768;
/** UIP is set this long before each update (datasheet: 244 us). */
const UIP_HOLD_NS = 244_141;
/** Offset applied when the divider leaves reset: the first update comes 500 ms later. */
const DIVIDER_START_NS = 500_000_000;
const TIME_REGS = [RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY];

/** Dependencies and options of Mc146818. */
export interface Mc146818Options {
  /** IRQ8. */
  irq: IrqLine;
  clock: Clock;
  scheduler: Scheduler;
  /** Guest time at construction, ms since the Unix epoch (host UTC, given by the board). Default 2000-01-01. */
  startTimeMs?: number;
  /** Optional observer of the NMI-disable bit of the index port. */
  onNmiMask?: (disabled: boolean) => void;
  /** Optional logger for guest misuse (rate-limit there). */
  log?: (message: string) => void;
  /** Device id (default "mc146818"). */
  id?: string;
}

/** RTC + CMOS. Register `io` at 0x70 (length 2). */
export class Mc146818 implements Device, CmosWriter {
  /** @inheritdoc */
  readonly id: string;
  /** Index (offset 0) and data (offset 1) ports. */
  readonly io: IoHandler;
  /** Guest writes to read-only registers C and D. */
  readOnlyWrites = 0;
  private readonly cmos = new Uint8Array(128);
  private index = 0;
  private nmiDisabled = false;
  /** Guest second at `phaseNs` (only meaningful while running). */
  private baseSec = 0;
  /** Virtual time of a second boundary of the divider chain. */
  private phaseNs = 0;
  /** Last guest second whose update cycle has been accounted for (UF/AF). */
  private lastSec = 0;
  private irqLevel = false;
  private periodicTimer: TimerHandle | undefined;
  private secondTimer: TimerHandle | undefined;
  private readonly irq: IrqLine;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly startSec: number;
  private readonly onNmiMask: ((disabled: boolean) => void) | undefined;
  private readonly log: ((message: string) => void) | undefined;

  constructor(opts: Mc146818Options) {
    this.id = opts.id ?? 'mc146818';
    this.irq = opts.irq;
    this.clock = opts.clock;
    this.scheduler = opts.scheduler;
    this.onNmiMask = opts.onNmiMask;
    this.log = opts.log;
    const start = opts.startTimeMs ?? Date.UTC(2000, 0, 1);
    if (!Number.isFinite(start)) throw new RangeError(`${this.id}: startTimeMs must be a finite number`);
    this.startSec = Math.floor(start / 1000);
    this.io = {
      minSize: 1,
      maxSize: 1,
      read: (offset: number, _size: AccessSize) => this.readPort(offset & 1),
      write: (offset: number, _size: AccessSize, value: number) => this.writePort(offset & 1, value & 0xff),
    };
    this.powerOn();
  }

  /** Whether the index port's NMI-disable bit is set. */
  get nmiMasked(): boolean {
    return this.nmiDisabled;
  }

  /** Board helper: stores a CMOS byte (no side effects, even for RTC registers). */
  setByte(index: number, value: number): void {
    if (!Number.isInteger(index) || index < 0 || index > 127) throw new RangeError(`${this.id}: CMOS index ${index} out of range`);
    this.cmos[index] = value & 0xff;
  }

  /** Board/test helper: a CMOS byte as stored (time registers refreshed first). */
  getByte(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index > 127) throw new RangeError(`${this.id}: CMOS index ${index} out of range`);
    if (this.running() && TIME_REGS.includes(index)) this.refreshTimeRegs();
    return this.cmos[index]!;
  }

  /** The guest's current time as ms since the Unix epoch (whole seconds). */
  guestTimeMs(): number {
    if (this.running()) return this.guestSec() * 1000;
    return this.regsToEpoch() * 1000;
  }

  // --- time base -------------------------------------------------------------

  private running(): boolean {
    return (this.cmos[RTC_REG_B]! & REG_B_SET) === 0 && this.dividerRunning();
  }

  private dividerRunning(): boolean {
    return (this.cmos[RTC_REG_A]! & 0x60) !== 0x60;
  }

  private secondsSincePhase(now: number): number {
    return Math.floor((now - this.phaseNs) / NS_PER_S);
  }

  private guestSec(): number {
    return this.baseSec + this.secondsSincePhase(this.clock.nowNs());
  }

  private binary(): boolean {
    return (this.cmos[RTC_REG_B]! & REG_B_DM) !== 0;
  }

  private h24(): boolean {
    return (this.cmos[RTC_REG_B]! & REG_B_24H) !== 0;
  }

  /** Writes the current time into the time registers. */
  private refreshTimeRegs(): void {
    this.writeTimeRegs(this.guestSec());
  }

  private writeTimeRegs(sec: number): void {
    const f = fieldsFromEpoch(sec);
    const bin = this.binary();
    const c = this.cmos;
    c[RTC_SECONDS] = toReg(f.sec, bin);
    c[RTC_MINUTES] = toReg(f.min, bin);
    c[RTC_HOURS] = hourToReg(f.hour, bin, this.h24());
    c[RTC_DAY_OF_WEEK] = toReg(f.wday, bin);
    c[RTC_DAY_OF_MONTH] = toReg(f.mday, bin);
    c[RTC_MONTH] = toReg(f.month, bin);
    c[RTC_YEAR] = toReg(f.year % 100, bin);
    c[RTC_CENTURY] = toReg(Math.floor(f.year / 100), bin);
  }

  private regsToEpoch(): number {
    const bin = this.binary();
    const c = this.cmos;
    return epochFromFields({
      sec: fromReg(c[RTC_SECONDS]!, bin), min: fromReg(c[RTC_MINUTES]!, bin),
      hour: hourFromReg(c[RTC_HOURS]!, bin, this.h24()), wday: 0,
      mday: fromReg(c[RTC_DAY_OF_MONTH]!, bin), month: fromReg(c[RTC_MONTH]!, bin),
      year: fromReg(c[RTC_CENTURY]!, bin) * 100 + fromReg(c[RTC_YEAR]!, bin),
    });
  }

  /** Makes the running clock continue from what the registers say, keeping the phase. */
  private setBaseFromRegs(): void {
    this.baseSec = this.regsToEpoch() - this.secondsSincePhase(this.clock.nowNs());
    this.lastSec = this.guestSec();
  }

  // --- interrupts ------------------------------------------------------------

  private updateIrq(): void {
    const c = this.cmos;
    const b = c[RTC_REG_B]!;
    const pending = (c[RTC_REG_C]! & (b & (REG_B_PIE | REG_B_AIE | REG_B_UIE))) !== 0;
    if (pending) c[RTC_REG_C] = c[RTC_REG_C]! | REG_C_IRQF;
    const level = (c[RTC_REG_C]! & REG_C_IRQF) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  /** Accounts for update cycles that completed since the last check (UF, AF). */
  private catchUp(): void {
    if (!this.running()) return;
    const cur = this.guestSec();
    if (cur <= this.lastSec) {
      this.lastSec = Math.min(this.lastSec, cur);
      return;
    }
    let flags = REG_C_UF;
    if (this.alarmMatchedIn(this.lastSec + 1, cur)) flags |= REG_C_AF;
    this.lastSec = cur;
    this.cmos[RTC_REG_C] = this.cmos[RTC_REG_C]! | flags;
    this.updateIrq();
  }

  /** Whether any second in [from, to] matches the alarm registers. */
  private alarmMatchedIn(from: number, to: number): boolean {
    const c = this.cmos;
    const as = c[RTC_SECONDS_ALARM]!;
    const am = c[RTC_MINUTES_ALARM]!;
    const ah = c[RTC_HOURS_ALARM]!;
    const dc = (v: number) => (v & 0xc0) === 0xc0;
    const bin = this.binary();
    const h24 = this.h24();
    const span = Math.min(to - from + 1, 86400);
    for (let i = 0; i < span; i++) {
      const sec = to - i;
      const sod = ((sec % 86400) + 86400) % 86400;
      if (!dc(as) && toReg(sod % 60, bin) !== as) continue;
      if (!dc(am) && toReg(Math.floor(sod / 60) % 60, bin) !== am) continue;
      if (!dc(ah) && hourToReg(Math.floor(sod / 3600), bin, h24) !== ah) continue;
      return true;
    }
    return false;
  }

  /** Periodic interrupt period in ns for the current RS bits, or 0 if disabled. */
  private periodNs(): number {
    const rs = this.cmos[RTC_REG_A]! & REG_A_RS;
    if (rs === 0) return 0;
    const ticks = rs <= 2 ? 1 << (rs + 6) : 1 << (rs - 1);
    return ticks * TICK_NS;
  }

  /** (Re)arms the periodic and once-a-second timers for the current registers. */
  private armTimers(): void {
    this.periodicTimer?.cancel();
    this.periodicTimer = undefined;
    this.secondTimer?.cancel();
    this.secondTimer = undefined;
    const now = this.clock.nowNs();
    const b = this.cmos[RTC_REG_B]!;
    const period = this.periodNs();
    if ((b & REG_B_PIE) && period > 0 && this.dividerRunning()) {
      const k = Math.floor((now - this.phaseNs) / period) + 1;
      const at = Math.ceil(this.phaseNs + k * period);
      this.periodicTimer = this.scheduler.at(at, () => {
        this.periodicTimer = undefined;
        this.cmos[RTC_REG_C] = this.cmos[RTC_REG_C]! | REG_C_PF;
        this.updateIrq();
        this.armTimers();
      });
    }
    if ((b & (REG_B_UIE | REG_B_AIE)) && this.running()) {
      const at = this.phaseNs + (this.secondsSincePhase(now) + 1) * NS_PER_S;
      this.secondTimer = this.scheduler.at(at, () => {
        this.secondTimer = undefined;
        this.catchUp();
        this.armTimers();
      });
    }
  }

  // --- ports -----------------------------------------------------------------

  private readPort(port: number): number {
    if (port === 0) return 0xff; // the index register is write-only
    const i = this.index;
    const c = this.cmos;
    switch (i) {
      case RTC_REG_A: {
        let v = c[RTC_REG_A]! & ~REG_A_UIP;
        if (this.running()) {
          const into = (this.clock.nowNs() - this.phaseNs) % NS_PER_S;
          if (into >= NS_PER_S - UIP_HOLD_NS) v |= REG_A_UIP;
        }
        return v;
      }
      case RTC_REG_C: {
        this.catchUp();
        const v = c[RTC_REG_C]!;
        c[RTC_REG_C] = 0;
        this.updateIrq();
        return v;
      }
      case RTC_REG_D:
        return REG_D_VRT;
      default:
        if (this.running() && TIME_REGS.includes(i)) this.refreshTimeRegs();
        return c[i]!;
    }
  }

  private writePort(port: number, value: number): void {
    if (port === 0) {
      this.index = value & 0x7f;
      const nmi = (value & NMI_DISABLE) !== 0;
      if (nmi !== this.nmiDisabled) {
        this.nmiDisabled = nmi;
        this.onNmiMask?.(nmi);
      }
      return;
    }
    const i = this.index;
    const c = this.cmos;
    switch (i) {
      case RTC_REG_A: {
        const wasRunning = this.dividerRunning();
        if (this.running()) this.refreshTimeRegs();
        c[RTC_REG_A] = value & ~REG_A_UIP;
        if (!wasRunning && this.dividerRunning()) {
          // Leaving divider reset: the first update comes 500 ms later.
          this.phaseNs = this.clock.nowNs() - DIVIDER_START_NS;
          if (this.running()) this.setBaseFromRegs();
        }
        this.armTimers();
        return;
      }
      case RTC_REG_B: {
        const old = c[RTC_REG_B]!;
        let v = value;
        if (v & REG_B_SET) {
          if (!(old & REG_B_SET) && this.running()) this.refreshTimeRegs();
          v &= ~REG_B_UIE; // datasheet: setting SET clears UIE
        }
        if (this.running()) this.catchUp();
        c[RTC_REG_B] = v;
        if ((old & REG_B_SET) && !(v & REG_B_SET) && this.running()) this.setBaseFromRegs();
        this.updateIrq();
        this.armTimers();
        return;
      }
      case RTC_REG_C:
      case RTC_REG_D:
        this.readOnlyWrites++;
        this.log?.(`${this.id}: write 0x${value.toString(16)} to read-only register 0x${i.toString(16)}`);
        return;
      default:
        if (TIME_REGS.includes(i) && this.running()) {
          // Writing a time register while the clock runs sets the time at once.
          this.refreshTimeRegs();
          c[i] = value;
          this.setBaseFromRegs();
          this.armTimers();
          return;
        }
        c[i] = value;
        if (i === RTC_SECONDS_ALARM || i === RTC_MINUTES_ALARM || i === RTC_HOURS_ALARM) this.armTimers();
    }
  }

  // --- life cycle ------------------------------------------------------------

  private powerOn(): void {
    this.cmos.fill(0);
    this.index = 0;
    this.nmiDisabled = false;
    this.phaseNs = this.clock.nowNs();
    this.cmos[RTC_REG_A] = 0x26; // 32.768 kHz, 1024 Hz rate selected
    this.cmos[RTC_REG_B] = REG_B_24H;
    this.cmos[RTC_REG_D] = REG_D_VRT;
    this.writeTimeRegs(this.startSec);
    this.baseSec = this.startSec;
    this.lastSec = this.startSec;
    this.irqLevel = false;
    this.armTimers();
  }

  /**
   * @inheritdoc Power-on clears CMOS RAM and restarts the clock at the start time; a hard
   * reset (the CPU's RESET) leaves RAM and time alone and clears the interrupt enables and
   * flags (datasheet "RESET": PIE, AIE, UIE, SQWE and IRQF/PF/AF/UF cleared).
   */
  reset(kind: ResetKind): void {
    if (kind === 'power-on') {
      this.readOnlyWrites = 0;
      this.powerOn();
      this.irq.set(false);
      return;
    }
    this.cmos[RTC_REG_B] = this.cmos[RTC_REG_B]! & ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    this.cmos[RTC_REG_C] = 0;
    this.updateIrq();
    this.armTimers();
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    const now = this.clock.nowNs();
    return {
      v: 1,
      cmos: Array.from(this.cmos),
      index: this.index,
      nmiDisabled: this.nmiDisabled,
      baseSec: this.baseSec,
      phaseAgoNs: now - this.phaseNs,
      lastSec: this.lastSec,
      irqLevel: this.irqLevel,
    };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    const cmos = ints(this.id, s, 'cmos', 0, 0xff, 128, 128);
    const index = int(this.id, s, 'index', 0, 127);
    const nmiDisabled = bool(this.id, s, 'nmiDisabled');
    const baseSec = int(this.id, s, 'baseSec', -8.64e12, 8.64e12);
    const phaseAgoNs = num(this.id, s, 'phaseAgoNs', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const lastSec = int(this.id, s, 'lastSec', -8.64e12, 8.64e12);
    const irqLevel = bool(this.id, s, 'irqLevel');
    this.cmos.set(cmos);
    this.index = index;
    this.nmiDisabled = nmiDisabled;
    this.baseSec = baseSec;
    this.phaseNs = this.clock.nowNs() - phaseAgoNs;
    this.lastSec = lastSec;
    this.irqLevel = irqLevel;
    this.irq.set(irqLevel);
    this.armTimers(); // post-load: re-arm from deadlines relative to the clock
  }
}
