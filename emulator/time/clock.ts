/**
 * Virtual time: devices read time from an injected Clock and arm timers on an injected
 * Scheduler, never the wall clock (ARCHITECTURE principle 4).
 *
 * VirtualClock is both. The machine advances it: by host time normally, or by executed
 * instructions in deterministic mode. Due callbacks run in deadline order from
 * `advanceTo`. Tests step it by hand (QEMU qtest's clock_step).
 */

/** Reads the virtual time. */
export interface Clock {
  /** Virtual nanoseconds since power-on. */
  nowNs(): number;
}

/** A cancellable timer. */
export interface TimerHandle {
  cancel(): void;
}

/** Runs callbacks at virtual deadlines. */
export interface Scheduler {
  /** Calls `cb` once when virtual time reaches `deadlineNs` (immediately on the next advance if past). */
  at(deadlineNs: number, cb: () => void): TimerHandle;
}

interface Timer extends TimerHandle {
  deadlineNs: number;
  seq: number;
  cb: () => void;
  live: boolean;
}

/** A clock that advances only when told to, plus its scheduler. */
export class VirtualClock implements Clock, Scheduler {
  private now = 0;
  private seq = 0;
  private timers: Timer[] = [];
  private source: (() => number) | undefined;

  /**
   * Current virtual time in nanoseconds. Between two `advanceTo` calls it follows the live
   * source, if one is set (the run loop's interpolation: elapsed host time, or retired
   * instructions in deterministic mode), so a device polled in a tight loop sees time move.
   * Never less than the last `advanceTo`; timers still fire only from `advanceTo`.
   */
  nowNs(): number {
    if (this.source !== undefined) {
      const t = this.source();
      if (t > this.now) return t;
    }
    return this.now;
  }

  /** The time of the last `advanceTo` (what timers have been run up to), ignoring the live source. */
  advancedNs(): number {
    return this.now;
  }

  /** Sets (or clears) the live time source used between advances. */
  setSource(source: (() => number) | undefined): void {
    this.source = source;
  }

  /** @inheritdoc */
  at(deadlineNs: number, cb: () => void): TimerHandle {
    const t: Timer = {
      deadlineNs, seq: this.seq++, cb, live: true,
      cancel: () => { t.live = false; },
    };
    // Insert keeping (deadline, seq) order; timer counts are small.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.deadlineNs > deadlineNs) i--;
    this.timers.splice(i, 0, t);
    return t;
  }

  /** The earliest live deadline, or Infinity. */
  nextDeadlineNs(): number {
    while (this.timers.length > 0 && !this.timers[0]!.live) this.timers.shift();
    return this.timers.length > 0 ? this.timers[0]!.deadlineNs : Infinity;
  }

  /** Moves time forward to `ns` (never backwards), running every timer that falls due. */
  advanceTo(ns: number): void {
    for (;;) {
      const t = this.timers[0];
      if (t === undefined || t.deadlineNs > ns) break;
      this.timers.shift();
      if (!t.live) continue;
      t.live = false;
      if (t.deadlineNs > this.now) this.now = t.deadlineNs;
      t.cb();
    }
    if (ns > this.now) this.now = ns;
  }

  /** Moves time forward by `deltaNs`. */
  step(deltaNs: number): void {
    this.advanceTo(this.now + deltaNs);
  }
}
