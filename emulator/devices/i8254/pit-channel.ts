/**
 * One counter of the Intel 8254 programmable interval timer. The counter never ticks:
 * its value and OUT level are computed from virtual time (ticks elapsed since the count
 * was loaded), and the next OUT transition is computed so a single timer can be armed.
 *
 * Follows: Intel 8254 datasheet (order no. 231164), "Control Word Format", "Read
 * Operations" (counter latch command, read-back command and status byte), "Mode
 * Definitions" 0-5 and "Gate Pin Operations Summary"; QEMU hw/timer/i8254.c for what PC
 * software depends on (mode 3 count read decrements by two; count 0 means 65536 / 10^4).
 * Leaves out: the one-clock delay between writing a count and loading it into the
 * counting element; new
 * counts in modes 2/3 taking effect only at the end of the current period (a write
 * restarts the period at once, as in QEMU); mode 1/5 counts written while counting are
 * applied at once, not at the next trigger.
 */
import { bool, int, num, obj } from '../state-check.js';

/** Input clock of every PC PIT counter. */
export const PIT_FREQ_HZ = 1_193_182;
const NS_PER_S = 1_000_000_000;

/** Control word RW field: counter latch command. */
export const RW_LATCH = 0;
/** Control word RW field: least significant byte only. */
export const RW_LSB = 1;
/** Control word RW field: most significant byte only. */
export const RW_MSB = 2;
/** Control word RW field: LSB then MSB. */
export const RW_WORD = 3;
/** Internal flip-flop state: the next byte of a word access is the MSB. */
const RW_WORD_MSB = 4;

/** Status byte: OUT pin level. */
export const STATUS_OUTPUT = 0x80;
/** Status byte: NULL COUNT (a count was written but not yet loaded). */
export const STATUS_NULL_COUNT = 0x40;

/** Whole PIT clock ticks in `ns` nanoseconds (floor), exact for any safe-integer `ns`. */
export function nsToTicks(ns: number): number {
  const s = Math.floor(ns / NS_PER_S);
  const r = ns - s * NS_PER_S;
  return s * PIT_FREQ_HZ + Math.floor((r * PIT_FREQ_HZ) / NS_PER_S);
}

/** The first nanosecond at which `nsToTicks` reaches `ticks` (ceil). */
export function ticksToNs(ticks: number): number {
  const s = Math.floor(ticks / PIT_FREQ_HZ);
  const r = ticks - s * PIT_FREQ_HZ;
  return s * NS_PER_S + Math.ceil((r * NS_PER_S) / PIT_FREQ_HZ);
}

function toBcd(v: number): number {
  v %= 10000;
  return ((Math.floor(v / 1000) % 10) << 12) | ((Math.floor(v / 100) % 10) << 8) | ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}

/** Named fields of one counter's state; `baseAgoNs` is relative to the clock at save time. */
export interface PitChannelState {
  count: number;
  mode: number;
  bcd: boolean;
  rwMode: number;
  readState: number;
  writeState: number;
  writeLatch: number;
  latchedCount: number;
  countLatched: number;
  status: number;
  statusLatched: boolean;
  gate: boolean;
  nullCount: boolean;
  loaded: boolean;
  armed: boolean;
  frozen: boolean;
  baseTicks: number;
  baseAgoNs: number;
  heldCount: number;
}

/** One counter. Times are passed in, so the channel has no clock of its own. */
export class PitChannel {
  /** Initial count N as a number (1..0x10000, or 1..10000 in BCD). */
  count = 0x10000;
  mode = 0;
  bcd = false;
  rwMode = RW_WORD;
  readState = RW_WORD;
  writeState = RW_WORD;
  writeLatch = 0;
  latchedCount = 0;
  /** 0 when nothing is latched, else the RW state of the pending latched read. */
  countLatched = 0;
  status = 0;
  statusLatched = false;
  gate = true;
  nullCount = true;
  /** A count has been written since the last control word. */
  loaded = false;
  /** The counting element runs (loaded, and triggered for modes 1/5). */
  armed = false;
  /** Counting suspended by GATE low (modes 0, 2, 3, 4). */
  frozen = false;
  /** Ticks counted before `baseNs` (kept across gate pauses). */
  baseTicks = 0;
  /** Virtual time the current counting run started. */
  baseNs = 0;
  /** Counter value shown while not armed. */
  heldCount = 0;

  constructor(private readonly log?: (message: string) => void) {}

  /** Ticks counted since the count was loaded or the counter triggered. */
  elapsed(nowNs: number): number {
    if (!this.armed) return 0;
    if (this.frozen) return this.baseTicks;
    return this.baseTicks + nsToTicks(nowNs - this.baseNs);
  }

  private modulus(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  /** The counting element's value now. */
  counterValue(nowNs: number): number {
    if (!this.armed) return this.heldCount;
    const d = this.elapsed(nowNs);
    const n = this.count;
    const m = this.modulus();
    switch (this.mode) {
      case 2: return n - (d % n);
      case 3: return n - ((2 * d) % n);
      default: return (((n - d) % m) + m) % m; // 0, 1, 4, 5: wraps after terminal count
    }
  }

  /** OUT pin level now. */
  out(nowNs: number): boolean {
    if (!this.armed) return this.mode !== 0;
    if (this.frozen && (this.mode === 2 || this.mode === 3)) return true;
    const d = this.elapsed(nowNs);
    const n = this.count;
    switch (this.mode) {
      case 0: return d >= n;
      case 1: return d >= n;
      case 2: return d % n !== n - 1;
      case 3: return d % n < ((n + 1) >> 1);
      default: return d !== n; // 4, 5: low for one clock at terminal count
    }
  }

  /** Virtual time of the next OUT change, or -1 if none will happen without guest action. */
  nextTransitionNs(nowNs: number): number {
    if (!this.armed || this.frozen) return -1;
    const d = this.elapsed(nowNs);
    const n = this.count;
    let t: number;
    switch (this.mode) {
      case 0:
      case 1:
        if (d >= n) return -1;
        t = n;
        break;
      case 2: {
        if (n === 1) return -1;
        const r = d % n;
        t = d - r + (r < n - 1 ? n - 1 : n);
        break;
      }
      case 3: {
        if (n === 1) return -1;
        const half = (n + 1) >> 1;
        const r = d % n;
        t = d - r + (r < half ? half : n);
        break;
      }
      default:
        if (d < n) t = n;
        else if (d === n) t = n + 1;
        else return -1;
    }
    const at = this.baseNs + ticksToNs(t - this.baseTicks);
    return at <= nowNs ? nowNs + 1 : at;
  }

  /** Writes a control word whose SC bits selected this counter (RW != latch). */
  control(rw: number, mode: number, bcd: boolean, nowNs: number): void {
    this.heldCount = this.counterValue(nowNs);
    this.rwMode = rw;
    this.readState = rw;
    this.writeState = rw;
    this.mode = mode > 5 ? mode - 4 : mode; // 6 and 7 are aliases of 2 and 3
    this.bcd = bcd;
    this.loaded = false;
    this.armed = false;
    this.frozen = false;
    this.nullCount = true;
    this.countLatched = 0;
    this.statusLatched = false;
  }

  /** Counter latch command (ignored while a latched count is still unread). */
  latchCount(nowNs: number): void {
    if (this.countLatched !== 0) return;
    let v = this.counterValue(nowNs) & 0xffff;
    if (this.bcd) v = toBcd(v);
    this.latchedCount = v;
    this.countLatched = this.rwMode;
  }

  /** Read-back status latch (ignored while a latched status is still unread). */
  latchStatus(nowNs: number): void {
    if (this.statusLatched) return;
    this.status = (this.out(nowNs) ? STATUS_OUTPUT : 0) | (this.nullCount ? STATUS_NULL_COUNT : 0) |
      (this.rwMode << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
    this.statusLatched = true;
  }

  /** A data-port read: latched status, latched count, or the live count. */
  read(nowNs: number): number {
    if (this.statusLatched) {
      this.statusLatched = false;
      return this.status;
    }
    if (this.countLatched !== 0) {
      switch (this.countLatched) {
        case RW_MSB:
          this.countLatched = 0;
          return (this.latchedCount >> 8) & 0xff;
        case RW_WORD:
          this.countLatched = RW_MSB;
          return this.latchedCount & 0xff;
        default:
          this.countLatched = 0;
          return this.latchedCount & 0xff;
      }
    }
    let v = this.counterValue(nowNs) & 0xffff;
    if (this.bcd) v = toBcd(v);
    switch (this.readState) {
      case RW_MSB: return (v >> 8) & 0xff;
      case RW_WORD: this.readState = RW_WORD_MSB; return v & 0xff;
      case RW_WORD_MSB: this.readState = RW_WORD; return (v >> 8) & 0xff;
      default: return v & 0xff;
    }
  }

  /** A data-port write: one byte of the new count. */
  write(value: number, nowNs: number): void {
    switch (this.writeState) {
      case RW_MSB: this.loadCount(value << 8, nowNs); break;
      case RW_WORD:
        this.writeLatch = value;
        this.writeState = RW_WORD_MSB;
        if (this.mode === 0 && this.armed) {
          // Mode 0: writing the first byte stops counting and drives OUT low at once.
          this.heldCount = this.counterValue(nowNs);
          this.armed = false;
        }
        break;
      case RW_WORD_MSB: this.writeState = RW_WORD; this.loadCount(this.writeLatch | (value << 8), nowNs); break;
      default: this.loadCount(value, nowNs); break;
    }
  }

  private loadCount(raw: number, nowNs: number): void {
    let n = raw & 0xffff;
    if (this.bcd) {
      const digits = [n >> 12, (n >> 8) & 15, (n >> 4) & 15, n & 15];
      if (digits.some((x) => x > 9)) this.log?.(`i8254: invalid BCD count 0x${n.toString(16)}`);
      n = digits.reduce((acc, x) => acc * 10 + Math.min(x, 9), 0);
      if (n === 0) n = 10000;
    } else if (n === 0) {
      n = 0x10000;
    }
    if (n === 1 && (this.mode === 2 || this.mode === 3)) this.log?.(`i8254: count 1 is illegal in mode ${this.mode}`);
    this.count = n;
    this.loaded = true;
    this.nullCount = false;
    if (this.mode === 1 || this.mode === 5) {
      // Hardware-triggered modes wait for a GATE rising edge.
      if (!this.armed) this.heldCount = n;
      return;
    }
    this.start(nowNs);
    this.frozen = !this.gate;
  }

  private start(nowNs: number): void {
    this.armed = true;
    this.frozen = false;
    this.baseTicks = 0;
    this.baseNs = nowNs;
  }

  /** Drives the GATE input. */
  setGate(level: boolean, nowNs: number): void {
    if (level === this.gate) return;
    this.gate = level;
    switch (this.mode) {
      case 0:
      case 4: // GATE enables counting
        if (!this.armed) return;
        if (!level) {
          this.baseTicks = this.elapsed(nowNs);
          this.frozen = true;
        } else {
          this.baseNs = nowNs;
          this.frozen = false;
        }
        return;
      case 1:
      case 5: // rising edge triggers
        if (level && this.loaded) this.start(nowNs);
        return;
      default: // 2, 3: low stops counting and forces OUT high; rising edge reloads
        if (!this.loaded) return;
        if (level) this.start(nowNs);
        else this.frozen = true;
    }
  }

  /** Plain state; `baseNs` saved relative to `nowNs`. */
  save(nowNs: number): PitChannelState {
    return {
      count: this.count, mode: this.mode, bcd: this.bcd, rwMode: this.rwMode, readState: this.readState,
      writeState: this.writeState, writeLatch: this.writeLatch, latchedCount: this.latchedCount,
      countLatched: this.countLatched, status: this.status, statusLatched: this.statusLatched, gate: this.gate,
      nullCount: this.nullCount, loaded: this.loaded, armed: this.armed, frozen: this.frozen,
      baseTicks: this.baseTicks, baseAgoNs: nowNs - this.baseNs, heldCount: this.heldCount,
    };
  }

  /** Validates untrusted data without touching any channel. */
  static validate(where: string, raw: unknown): PitChannelState {
    const s = obj(where, raw);
    const st = (k: string) => int(where, s, k, 0, RW_WORD_MSB);
    return {
      count: int(where, s, 'count', 1, 0x10000), mode: int(where, s, 'mode', 0, 5), bcd: bool(where, s, 'bcd'),
      rwMode: int(where, s, 'rwMode', 1, 3), readState: st('readState'), writeState: st('writeState'),
      writeLatch: int(where, s, 'writeLatch', 0, 0xff), latchedCount: int(where, s, 'latchedCount', 0, 0xffff),
      countLatched: int(where, s, 'countLatched', 0, 3), status: int(where, s, 'status', 0, 0xff),
      statusLatched: bool(where, s, 'statusLatched'), gate: bool(where, s, 'gate'), nullCount: bool(where, s, 'nullCount'),
      loaded: bool(where, s, 'loaded'), armed: bool(where, s, 'armed'), frozen: bool(where, s, 'frozen'),
      baseTicks: int(where, s, 'baseTicks', 0, Number.MAX_SAFE_INTEGER),
      baseAgoNs: num(where, s, 'baseAgoNs', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      heldCount: int(where, s, 'heldCount', 0, 0x10000),
    };
  }

  /** Applies validated state. */
  apply(s: PitChannelState, nowNs: number): void {
    const { baseAgoNs, ...rest } = s;
    Object.assign(this, rest);
    this.baseNs = nowNs - baseAgoNs;
  }
}
