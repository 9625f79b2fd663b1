/**
 * High Precision Event Timer: one block with a 64-bit main counter at 100 MHz and three
 * comparators, as QEMU's "hpet" device on the pc machine.
 *
 * Follows: IA-PC HPET (High Precision Event Timers) Specification 1.0a:
 *   2.3.4 General Capabilities and ID (rev 1, 3 timers, 64-bit counter, legacy route
 *   capable, vendor 0x8086, period 10 ns = 10_000_000 fs), 2.3.5 General Configuration
 *   (ENABLE_CNF, LEG_RT_CNF), 2.3.6 General Interrupt Status (write 1 to clear, level
 *   mode only), 2.3.7 Main Counter (writable while halted), 2.3.8 Timer N Configuration
 *   and Capabilities (INT_TYPE, INT_ENB, TYPE periodic, VAL_SET, 32MODE, INT_ROUTE, FSB
 *   off), 2.3.9 Comparator, 2.3.9.2.2 periodic mode, 2.4 legacy replacement routing
 *   (timer 0 -> IRQ0 / IOAPIC pin 2, timer 1 -> IRQ8).
 * Comparator/VAL_SET details follow QEMU hw/timer/hpet.c (a comparator write in periodic
 * mode sets the period, and also the comparator when VAL_SET is on; VAL_SET then clears).
 * Timers are armed on the injected Scheduler at the virtual time of the next match; the
 * counter is computed from the injected Clock (no polling).
 * Comparators reset to all ones (as QEMU): a guest that writes only the low dword must
 * use 32-bit mode (Linux does) or also write the high dword.
 * Leaves out: FSB (MSI) delivery (FSB_INT_DEL_CAP = 0), the 32-bit wrap quirk of one-shot
 * timers in 32-bit mode on real chips beyond "matches again after 2^32 ticks". A state
 * saved at the exact tick of a one-shot match re-fires once after restore.
 */
import type { Clock, Scheduler, TimerHandle } from '../../time/clock.js';
import type { AccessSize, Device, DeviceState, IoHandler, IrqLine } from '../device.js';

/** Register offsets (64-bit registers, accessed as dwords). */
export const OFS_GCAP_ID = 0x000;
export const OFS_GEN_CONF = 0x010;
export const OFS_GINTR_STA = 0x020;
export const OFS_MAIN_CNT = 0x0f0;
/** Timer N register block: 0x100 + 0x20 * N. */
export const OFS_TIMER_BASE = 0x100;
export const OFS_TIMER_STRIDE = 0x20;
export const OFS_TN_CONF = 0x00;
export const OFS_TN_CMP = 0x08;
export const OFS_TN_FSB = 0x10;

/** Number of comparators. */
export const HPET_NUM_TIMERS = 3;
/** Counter tick period in femtoseconds (10 ns, 100 MHz). */
export const HPET_PERIOD_FS = 10_000_000;
/** Counter tick period in nanoseconds. */
export const HPET_TICK_NS = 10;
/** Low dword of GCAP_ID: vendor 8086, LEG_RT_CAP, COUNT_SIZE_CAP, NUM_TIM_CAP = 2, REV_ID 1. */
export const HPET_GCAP_LO = ((0x8086 << 16) | (1 << 15) | (1 << 13) | ((HPET_NUM_TIMERS - 1) << 8) | 0x01) >>> 0;
/** IOAPIC pins a timer may route to (QEMU pc "hpet-intcap"): 2, 8 and 16-23. */
export const HPET_DEFAULT_INT_ROUTE_CAP = 0x00ff_0104;

/** GEN_CONF bits. */
export const ENABLE_CNF = 1 << 0;
export const LEG_RT_CNF = 1 << 1;

/** Tn_CONF_CAP bits. */
export const TN_INT_TYPE_LEVEL = 1 << 1;
export const TN_INT_ENB = 1 << 2;
export const TN_TYPE_PERIODIC = 1 << 3;
export const TN_PER_INT_CAP = 1 << 4;
export const TN_SIZE_CAP = 1 << 5;
export const TN_VAL_SET = 1 << 6;
export const TN_32MODE = 1 << 8;
export const TN_INT_ROUTE_SHIFT = 9;
export const TN_INT_ROUTE_MASK = 0x1f << TN_INT_ROUTE_SHIFT;
export const TN_FSB_EN = 1 << 14;
/** Writable configuration bits (FSB_EN stays 0: no FSB capability). */
const TN_CFG_WRITABLE = TN_INT_TYPE_LEVEL | TN_INT_ENB | TN_TYPE_PERIODIC | TN_VAL_SET | TN_32MODE | TN_INT_ROUTE_MASK;

const MASK64 = (1n << 64n) - 1n;
const MASK32 = 0xffff_ffffn;

/** Dependencies of the HPET. */
export interface HpetOptions {
  clock: Clock;
  scheduler: Scheduler;
  /** Legacy replacement output of timer 0: the board feeds PIC IRQ0 and IOAPIC pin 2. */
  legacyIrq0: IrqLine;
  /** Legacy replacement output of timer 1: PIC IRQ8 and IOAPIC pin 8. */
  legacyIrq8: IrqLine;
  /** The IOAPIC input for Tn_INT_ROUTE_CNF = `pin` (undefined if not wired). */
  ioapicPin: (pin: number) => IrqLine | undefined;
  /**
   * Called when LEG_RT_CNF changes: while on, the board must mute the PIT's IRQ0 and the
   * RTC's IRQ8 outputs (the HPET owns those lines; QEMU "hpet-legacy" gpio).
   */
  onLegacyRouteChange?: (enabled: boolean) => void;
  /** Tn_INT_ROUTE_CAP. Default 0x00ff0104. */
  intRouteCap?: number;
  /** Device id (default "hpet"). */
  id?: string;
  /** Logs guest misuse. */
  log?: (message: string) => void;
}

interface TimerRegs {
  /** Writable configuration bits. */
  config: number;
  /** Comparator value (64-bit). */
  cmp: bigint;
  /** Period for periodic mode. */
  period: bigint;
}

/** The HPET block. Map `mmio` at 0xFED00000, length 0x400. */
export class Hpet implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** The MMIO handler (dword accesses). */
  readonly mmio: IoHandler;
  /** Count of guest accesses a real chip would ignore. */
  misuseCount = 0;

  private readonly intRouteCap: number;
  private config = 0;
  private isr = 0;
  /** Counter value while halted, or at `baseNs` while running. */
  private counterBase = 0n;
  private baseNs = 0;
  private readonly timers: TimerRegs[] = [];
  private readonly handles: Array<TimerHandle | null> = [];
  /** Level currently driven on each output ("leg0", "leg8", "pinN"). */
  private readonly driven = new Map<string, boolean>();

  constructor(private readonly opts: HpetOptions) {
    this.id = opts.id ?? 'hpet';
    this.intRouteCap = (opts.intRouteCap ?? HPET_DEFAULT_INT_ROUTE_CAP) >>> 0;
    for (let i = 0; i < HPET_NUM_TIMERS; i++) { this.timers.push({ config: 0, cmp: MASK64, period: 0n }); this.handles.push(null); }
    this.mmio = {
      minSize: 4,
      maxSize: 4,
      read: (offset: number, size: AccessSize) => this.read(offset, size),
      write: (offset: number, size: AccessSize, value: number) => this.write(offset, size, value),
    };
  }

  private misuse(msg: string): void {
    this.misuseCount++;
    this.opts.log?.(`${this.id}: ${msg}`);
  }

  private get enabled(): boolean {
    return (this.config & ENABLE_CNF) !== 0;
  }

  /** Main counter value now. */
  counter(): bigint {
    if (!this.enabled) return this.counterBase;
    const ticks = Math.floor((this.opts.clock.nowNs() - this.baseNs) / HPET_TICK_NS);
    return (this.counterBase + BigInt(Math.max(0, ticks))) & MASK64;
  }

  // ------------------------------------------------------------ register file

  private read64(reg: number): bigint {
    switch (reg) {
      case OFS_GCAP_ID: return (BigInt(HPET_PERIOD_FS) << 32n) | BigInt(HPET_GCAP_LO);
      case OFS_GEN_CONF: return BigInt(this.config);
      case OFS_GINTR_STA: return BigInt(this.isr);
      case OFS_MAIN_CNT: return this.counter();
      default: break;
    }
    const t = this.timerAt(reg);
    if (t === null) return 0n;
    const timer = this.timers[t.n]!;
    if (t.reg === OFS_TN_CONF) return (BigInt(this.intRouteCap) << 32n) | BigInt(timer.config | TN_PER_INT_CAP | TN_SIZE_CAP);
    if (t.reg === OFS_TN_CMP) return timer.cmp;
    return 0n; // FSB route: no FSB capability
  }

  private timerAt(reg: number): { n: number; reg: number } | null {
    if (reg < OFS_TIMER_BASE) return null;
    const n = Math.floor((reg - OFS_TIMER_BASE) / OFS_TIMER_STRIDE);
    if (n >= HPET_NUM_TIMERS) return null;
    return { n, reg: (reg - OFS_TIMER_BASE) % OFS_TIMER_STRIDE };
  }

  private read(offset: number, size: AccessSize): number {
    const off = offset & 0x3ff;
    const v = this.read64(off & ~7);
    const dword = Number((off & 4 ? v >> 32n : v) & MASK32);
    if (size === 4 && (off & 3) === 0) return dword >>> 0;
    const shift = (off & 3) * 8;
    return (dword >>> shift) & (size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1);
  }

  private write(offset: number, size: AccessSize, value: number): void {
    const off = offset & 0x3ff;
    if (size !== 4 || (off & 3) !== 0) { this.misuse(`${size}-byte write at 0x${off.toString(16)} (HPET registers take 32/64-bit accesses)`); return; }
    const v = value >>> 0;
    const high = (off & 4) !== 0;
    const reg = off & ~7;
    switch (reg) {
      case OFS_GCAP_ID: this.misuse('write to read-only GCAP_ID'); return;
      case OFS_GEN_CONF: if (!high) this.writeConfig(v & (ENABLE_CNF | LEG_RT_CNF)); return;
      case OFS_GINTR_STA: if (!high) { this.isr &= ~v; this.syncLines(); } return;
      case OFS_MAIN_CNT: {
        if (this.enabled) { this.misuse('main counter written while enabled (ignored)'); return; }
        this.counterBase = high ? (this.counterBase & MASK32) | (BigInt(v) << 32n) : (this.counterBase & (MASK32 << 32n)) | BigInt(v);
        return;
      }
      default: break;
    }
    const t = this.timerAt(reg);
    if (t === null) { this.misuse(`write to reserved offset 0x${off.toString(16)}`); return; }
    if (t.reg === OFS_TN_CONF) { if (!high) this.writeTimerConfig(t.n, v); return; }
    if (t.reg === OFS_TN_CMP) { this.writeComparator(t.n, high, v); return; }
    if (v !== 0) this.misuse(`timer ${t.n} FSB route written without FSB capability`);
  }

  private writeConfig(next: number): void {
    const old = this.config;
    if ((old ^ next) & ENABLE_CNF) {
      if (next & ENABLE_CNF) {
        this.config = next;
        this.baseNs = this.opts.clock.nowNs();
        for (let n = 0; n < HPET_NUM_TIMERS; n++) this.arm(n, false);
      } else {
        this.counterBase = this.counter();
        this.config = next;
        for (let n = 0; n < HPET_NUM_TIMERS; n++) this.disarm(n);
      }
    }
    this.config = next;
    if ((old ^ next) & LEG_RT_CNF) this.opts.onLegacyRouteChange?.((next & LEG_RT_CNF) !== 0);
    this.syncLines();
  }

  private writeTimerConfig(n: number, value: number): void {
    const timer = this.timers[n]!;
    const old = timer.config;
    const cfg = value & TN_CFG_WRITABLE;
    const route = (cfg & TN_INT_ROUTE_MASK) >>> TN_INT_ROUTE_SHIFT;
    if ((cfg & TN_INT_ENB) && !(this.intRouteCap & (1 << route)) && !(this.config & LEG_RT_CNF && n < 2)) {
      this.misuse(`timer ${n} routed to IOAPIC pin ${route}, outside INT_ROUTE_CAP`);
    }
    if (value & TN_FSB_EN) this.misuse(`timer ${n}: FSB delivery requested but not supported`);
    if (cfg & TN_32MODE) { timer.cmp &= MASK32; timer.period &= MASK32; }
    // Leaving level mode drops a pending status bit (QEMU).
    if ((old & TN_INT_TYPE_LEVEL) && !(cfg & TN_INT_TYPE_LEVEL)) this.isr &= ~(1 << n);
    timer.config = cfg;
    this.syncLines();
    if (this.enabled) this.arm(n, false);
  }

  private writeComparator(n: number, high: boolean, value: number): void {
    const timer = this.timers[n]!;
    const mode32 = (timer.config & TN_32MODE) !== 0;
    if (high && mode32) return; // the upper half does not exist in 32-bit mode
    const periodic = (timer.config & TN_TYPE_PERIODIC) !== 0;
    const deposit = (old: bigint): bigint => (high ? (old & MASK32) | (BigInt(value) << 32n) : (old & (MASK32 << 32n)) | BigInt(value));
    if (!periodic || (timer.config & TN_VAL_SET)) timer.cmp = deposit(timer.cmp);
    if (periodic) timer.period = deposit(timer.period);
    timer.config &= ~TN_VAL_SET;
    if (this.enabled) this.arm(n, false);
  }

  // ------------------------------------------------------------ timers

  private disarm(n: number): void {
    this.handles[n]?.cancel();
    this.handles[n] = null;
  }

  /**
   * Arms timer `n` for its next comparator match. Right after a match (`afterMatch`),
   * an equal comparator means a full wrap away rather than now.
   */
  private arm(n: number, afterMatch: boolean): void {
    this.disarm(n);
    if (!this.enabled) return;
    const timer = this.timers[n]!;
    const bits = timer.config & TN_32MODE ? 32n : 64n;
    const mask = (1n << bits) - 1n;
    const cur = this.counter();
    let diff = (timer.cmp - cur) & mask;
    if (diff === 0n && afterMatch) diff = 1n << bits;
    const now = this.opts.clock.nowNs();
    const elapsedTicks = Math.floor((now - this.baseNs) / HPET_TICK_NS);
    const deadline = this.baseNs + (elapsedTicks + Number(diff)) * HPET_TICK_NS;
    // A 64-bit wrap away is beyond any run. (Not isSafeInteger: in real-time mode virtual
    // time, and so `baseNs`, has a fractional part; such a deadline is perfectly valid.)
    if (!(deadline <= Number.MAX_SAFE_INTEGER)) return;
    this.handles[n] = this.opts.scheduler.at(deadline, () => this.match(n));
  }

  /** Comparator `n` matched the counter. */
  private match(n: number): void {
    this.handles[n] = null;
    if (!this.enabled) return;
    const timer = this.timers[n]!;
    this.raise(n);
    if ((timer.config & TN_TYPE_PERIODIC) && timer.period !== 0n) {
      const bits = timer.config & TN_32MODE ? 32n : 64n;
      const mask = (1n << bits) - 1n;
      const half = 1n << (bits - 1n);
      const cur = this.counter() & mask;
      // Advance the comparator past the counter (catching up on missed periods).
      let cmp = timer.cmp & mask;
      const behind = (c: bigint): boolean => ((cur - c) & mask) < half;
      if (behind(cmp)) {
        const lag = (cur - cmp) & mask;
        const steps = lag / timer.period + 1n;
        cmp = (cmp + steps * timer.period) & mask;
      }
      timer.cmp = cmp;
    }
    this.arm(n, true);
  }

  /** The output a timer drives now. */
  private routeKey(n: number): string {
    if (this.config & LEG_RT_CNF) {
      if (n === 0) return 'leg0';
      if (n === 1) return 'leg8';
    }
    return `pin${(this.timers[n]!.config & TN_INT_ROUTE_MASK) >>> TN_INT_ROUTE_SHIFT}`;
  }

  private line(key: string): IrqLine | undefined {
    if (key === 'leg0') return this.opts.legacyIrq0;
    if (key === 'leg8') return this.opts.legacyIrq8;
    return this.opts.ioapicPin(Number(key.slice(3)));
  }

  private raise(n: number): void {
    const timer = this.timers[n]!;
    if (timer.config & TN_INT_TYPE_LEVEL) {
      this.isr |= 1 << n;
      this.syncLines();
    } else if ((timer.config & TN_INT_ENB) && this.enabled) {
      this.line(this.routeKey(n))?.pulse();
    }
  }

  /** Levels each output should carry: level-mode timers with status set and enabled. */
  private wantedLevels(): Map<string, boolean> {
    const want = new Map<string, boolean>();
    for (let n = 0; n < HPET_NUM_TIMERS; n++) {
      const c = this.timers[n]!.config;
      const on = this.enabled && (c & TN_INT_TYPE_LEVEL) !== 0 && (c & TN_INT_ENB) !== 0 && (this.isr & (1 << n)) !== 0;
      const key = this.routeKey(n);
      want.set(key, (want.get(key) ?? false) || on);
    }
    return want;
  }

  private syncLines(): void {
    const want = this.wantedLevels();
    for (const key of this.driven.keys()) if (!want.has(key)) want.set(key, false);
    for (const [key, level] of want) {
      if ((this.driven.get(key) ?? false) === level) continue;
      if (level) this.driven.set(key, true); else this.driven.delete(key);
      this.line(key)?.set(level);
    }
  }

  // ------------------------------------------------------------ life cycle

  /** @inheritdoc */
  reset(_kind: 'power-on' | 'hard'): void {
    for (let n = 0; n < HPET_NUM_TIMERS; n++) {
      this.disarm(n);
      this.timers[n] = { config: 0, cmp: MASK64, period: 0n };
    }
    const legacyWasOn = (this.config & LEG_RT_CNF) !== 0;
    this.config = 0;
    this.isr = 0;
    this.counterBase = 0n;
    this.syncLines();
    if (legacyWasOn) this.opts.onLegacyRouteChange?.(false);
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    return {
      v: 1,
      config: this.config,
      isr: this.isr,
      counter: this.counter().toString(16),
      timers: this.timers.map((t) => ({ config: t.config, cmp: t.cmp.toString(16), period: t.period.toString(16) })),
    };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = state as Record<string, unknown> | null;
    if (typeof s !== 'object' || s === null || s.v !== 1) throw new Error(`${this.id}: state must be { v: 1, ... }`);
    const int = (v: unknown, what: string, mask: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (v & ~mask) !== 0) throw new Error(`${this.id}: state.${what} must be an integer within mask 0x${mask.toString(16)}`);
      return v;
    };
    const u64 = (v: unknown, what: string): bigint => {
      if (typeof v !== 'string' || !/^[0-9a-f]{1,16}$/.test(v)) throw new Error(`${this.id}: state.${what} must be a hex string of up to 16 digits`);
      return BigInt(`0x${v}`);
    };
    const config = int(s.config, 'config', ENABLE_CNF | LEG_RT_CNF);
    const isr = int(s.isr, 'isr', (1 << HPET_NUM_TIMERS) - 1);
    const counter = u64(s.counter, 'counter');
    if (!Array.isArray(s.timers) || s.timers.length !== HPET_NUM_TIMERS) throw new Error(`${this.id}: state.timers must hold ${HPET_NUM_TIMERS} timers`);
    const timers = s.timers.map((t: unknown, i: number): TimerRegs => {
      const r = t as Record<string, unknown> | null;
      if (typeof r !== 'object' || r === null) throw new Error(`${this.id}: state.timers[${i}] must be an object`);
      return { config: int(r.config, `timers[${i}].config`, TN_CFG_WRITABLE), cmp: u64(r.cmp, `timers[${i}].cmp`), period: u64(r.period, `timers[${i}].period`) };
    });
    // Validated: apply, then re-arm against the current virtual time (post-load step).
    for (let n = 0; n < HPET_NUM_TIMERS; n++) this.disarm(n);
    this.config = config;
    this.isr = isr;
    this.counterBase = counter;
    this.baseNs = this.opts.clock.nowNs();
    timers.forEach((t, n) => { this.timers[n] = t; });
    // The interrupt controllers restore their own input state: record, do not drive.
    this.driven.clear();
    for (const [key, level] of this.wantedLevels()) if (level) this.driven.set(key, true);
    if (this.enabled) for (let n = 0; n < HPET_NUM_TIMERS; n++) this.arm(n, false);
  }
}
