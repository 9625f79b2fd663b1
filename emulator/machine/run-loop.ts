/**
 * The machine's run loop: an explicit state machine (running | paused | stopped) in the
 * manner of Firecracker's vCPU loop, driving one CPU backend in bounded slices so the
 * host thread keeps answering messages and completing I/O between slices.
 *
 * Virtual time:
 * - real-time mode: virtual time follows host time while the guest executes; a halted
 *   CPU sleeps until the next timer deadline or an external wake-up. Host time the guest
 *   cannot have spent is left out, so the guest sees time flow smoothly:
 *   - the host's turns between slices (the event loop answering messages and completing
 *     I/O) are dropped, so two reads of the TSC or the PIT a few instructions apart never
 *     straddle a jump. Linux calibrates its TSC against the PIT in a 10 ms polling loop
 *     and gives up when one read-to-read step is ten times the shortest (tsc.c,
 *     pit_calibrate_tsc); with jumps at slice boundaries it marked the TSC unstable or
 *     measured a 3.8 MHz processor, at random.
 *   - a stall inside guest execution (the host descheduled the thread, a garbage
 *     collection) advances virtual time by at most `maxRunningStepMs`. Otherwise periodic
 *     timers coalesce: eleven 4 ms ticks in a 45 ms stall reach the guest as one
 *     interrupt, and Linux's check that the timer ticks through the IO-APIC
 *     (check_timer, which wants more than 4 jiffies in 40) fails on a loaded host.
 *   Time dropped this way is given back while the guest is halted (a halted CPU's wait
 *   is shortened by it), so an idling guest's clock keeps up with the host's.
 * - deterministic mode: virtual time advances by `nsPerInstruction` per retired
 *   instruction, and jumps to the next timer deadline while the CPU is halted, so a
 *   run is reproducible (same instruction stream, same interrupts) whatever the host load.
 *   With several CPUs run round-robin (smp-cpus.ts) the target's `clockInstructions`
 *   counts rounds, not the CPUs' sum: virtual time advances once per round.
 */
import { CpuExit, type CpuBackend } from '../cpu/backend.js';
import type { VirtualClock } from '../time/clock.js';
import type { HostTiming } from './host-timing.js';

/** Instructions per `cpu.run` call unless `chunkInstructions` says otherwise. */
export const DEFAULT_CHUNK_INSTRUCTIONS = 50_000;

/** Run state of the loop. */
export type RunState = 'running' | 'paused' | 'stopped';

/** Why the loop stopped. */
export type StopReason =
  | { kind: 'debug-exit'; code: number }
  | { kind: 'power-off' }
  | { kind: 'requested'; detail: string }
  | { kind: 'halted-forever' }
  | { kind: 'error'; message: string };

/** What the loop drives. */
export interface RunTarget {
  readonly cpu: CpuBackend;
  readonly clock: VirtualClock;
  /** Resets the whole machine (devices and CPU) after a reset request or triple fault. */
  reset(): void;
  /**
   * The instruction count deterministic virtual time follows (default: the CPU's
   * `instructionsRetired`). Several CPUs in one thread advance it once per round.
   */
  clockInstructions?: () => number;
  /**
   * Whether an interrupt could still wake a halted machine (default: the CPU's EFLAGS.IF);
   * false with no timer pending means halted forever.
   */
  interruptible?: () => boolean;
}

/** Loop tuning. */
export interface RunLoopOptions {
  deterministic: boolean;
  /** Virtual nanoseconds per instruction in deterministic mode (default 1). */
  nsPerInstruction?: number;
  /** Longest stretch of guest execution between host yields, in host ms (default 8). */
  sliceMs?: number;
  /** Instructions per `cpu.run` call (default 50 000). */
  chunkInstructions?: number;
  /**
   * Real-time mode: the most virtual time that passes across one host stall while the
   * CPU runs, in ms (default 10); the rest of a longer stall is dropped (stolen time).
   * `Infinity`: virtual time is host time, nothing is left out (KVM, whose guest TSC and
   * in-kernel timers follow the host clock).
   */
  maxRunningStepMs?: number;
  /** Called on every state change. */
  onState?: (state: RunState) => void;
  /**
   * Called after every chunk of guest execution (`chunkInstructions` instructions unless
   * the CPU stopped earlier): a sampling profiler's hook (guest-profiler.ts).
   */
  onChunk?: (cpu: CpuBackend) => void;
}

/** Drives a machine until it stops. One loop per machine. */
export class RunLoop {
  private state: RunState = 'paused';
  private stopReason: StopReason | undefined;
  private resumeWaiter: (() => void) | undefined;
  private readonly nsPerInstr: number;
  private readonly sliceMs: number;
  private readonly chunk: number;
  private readonly maxStepMs: number;
  /** Virtual ns at the last reference point, and the reference itself. */
  private baseNs = 0;
  private baseInstr = 0;
  private baseHostMs = 0;
  /** Real-time mode: the host time of the last reading, to tell a stall from steady progress. */
  private lastHostMs = 0;
  /** Real-time mode: host ms left out of virtual time and not yet given back during a halt. */
  private behindMs = 0;
  /** Guest instructions executed under this loop (survives CPU resets). */
  private instrBeforeReset = 0;
  private resetRequested = false;

  constructor(
    private readonly target: RunTarget,
    private readonly timing: HostTiming,
    private readonly opts: RunLoopOptions,
  ) {
    this.nsPerInstr = opts.nsPerInstruction ?? 1;
    this.sliceMs = opts.sliceMs ?? 8;
    this.chunk = opts.chunkInstructions ?? DEFAULT_CHUNK_INSTRUCTIONS;
    this.maxStepMs = opts.maxRunningStepMs ?? 10;
  }

  /** Current state. */
  get runState(): RunState {
    return this.state;
  }

  /** Instructions executed since the loop started, across resets. */
  get instructions(): number {
    return this.instrBeforeReset + this.target.cpu.instructionsRetired;
  }

  /** Runs until stopped; resolves with the reason. */
  async run(): Promise<StopReason> {
    this.setState('running');
    this.rebase();
    // Device time moves within a chunk too (exactly per instruction in deterministic mode).
    // While paused no time passes: the source then defers to the last advance.
    this.target.clock.setSource(() => (this.state === 'running' ? this.virtualNow() : 0));
    while (this.state !== 'stopped') {
      if (this.state === 'paused') {
        await new Promise<void>((resolve) => { this.resumeWaiter = resolve; });
        this.rebase();
        continue;
      }
      const halted = this.slice();
      if (this.state !== 'running') continue;
      if (halted) await this.waitWhileHalted();
      else await this.yieldToHost();
    }
    return this.stopReason ?? { kind: 'requested', detail: 'stopped' };
  }

  /** Pauses at the next slice boundary. */
  pause(): void {
    if (this.state === 'running') {
      this.setState('paused');
      this.target.cpu.kick();
    }
  }

  /** Resumes a paused loop. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.setState('running');
    const w = this.resumeWaiter;
    this.resumeWaiter = undefined;
    w?.();
  }

  /** Stops the loop for good (first reason wins). */
  stop(reason: StopReason): void {
    if (this.state === 'stopped') return;
    this.stopReason ??= reason;
    this.setState('stopped');
    this.target.cpu.kick();
    this.timing.wake();
    const w = this.resumeWaiter;
    this.resumeWaiter = undefined;
    w?.();
  }

  /**
   * Asks for a machine reset at the next instruction boundary (a device asked for it from
   * inside an I/O access: port 0x92, 0xCF9, the keyboard controller).
   */
  requestReset(): void {
    this.resetRequested = true;
    this.target.cpu.kick();
  }

  /** Wakes a halted CPU's sleep early (a device raised an interrupt from host I/O). */
  wake(): void {
    this.timing.wake();
  }

  /** Runs guest code for about `sliceMs`. Returns true if the CPU is halted. */
  private slice(): boolean {
    const { cpu } = this.target;
    const start = this.timing.nowMs();
    for (;;) {
      let budget = this.chunk;
      if (this.opts.deterministic) {
        // Stop exactly at the next timer deadline so interrupts land on the same instruction every run.
        const next = this.target.clock.nextDeadlineNs();
        if (Number.isFinite(next)) {
          const until = Math.ceil((next - this.virtualNow()) / this.nsPerInstr);
          budget = Math.max(1, Math.min(budget, until));
        }
      }
      let exit = cpu.run(budget);
      this.opts.onChunk?.(cpu);
      this.advanceClock();
      if (this.resetRequested) {
        this.resetRequested = false;
        exit = CpuExit.Reset;
      }
      if (this.state !== 'running') return false;
      switch (exit) {
        case CpuExit.Halt:
          return true;
        case CpuExit.Reset:
          this.instrBeforeReset += cpu.instructionsRetired;
          this.target.reset();
          this.rebase();
          break;
        case CpuExit.Shutdown:
          this.stop({ kind: 'power-off' });
          return false;
        case CpuExit.Error:
          this.stop({ kind: 'error', message: cpu.lastError ?? 'CPU backend error' });
          return false;
        default:
          break;
      }
      if (this.timing.nowMs() - start >= this.sliceMs) return false;
    }
  }

  /** The CPU waits for an interrupt: let time pass until the next timer or a wake-up. */
  private async waitWhileHalted(): Promise<void> {
    const next = this.target.clock.nextDeadlineNs();
    const interruptsEnabled = this.target.interruptible?.() ?? (this.target.cpu.getRegs().eflags & 0x200) !== 0;
    if (this.opts.deterministic) {
      if (!Number.isFinite(next)) {
        if (!interruptsEnabled) { this.stop({ kind: 'halted-forever' }); return; }
        // Nothing scheduled: only host I/O can wake it. Give the host a moment.
        await this.timing.sleep(5);
        return;
      }
      // Jump virtual time to the deadline: no host time passes in deterministic mode.
      this.baseNs = Math.max(this.virtualNow(), next, this.target.clock.advancedNs());
      this.baseInstr = this.clockInstructions();
      this.target.clock.advanceTo(this.baseNs);
      await this.timing.yield();
      return;
    }
    if (!Number.isFinite(next) && !interruptsEnabled) { this.stop({ kind: 'halted-forever' }); return; }
    let waitMs = Number.isFinite(next) ? (next - this.target.clock.nowNs()) / 1e6 : 50;
    // Give back time left out earlier: the guest is idle, so it just wakes up sooner.
    const giveBack = Math.min(this.behindMs, Math.max(0, waitMs));
    this.behindMs -= giveBack;
    this.baseHostMs -= giveBack;
    waitMs -= giveBack;
    if (waitMs > 0.05) await this.timing.sleep(Math.min(waitMs, 50));
    else await this.timing.yield();
    // The whole wait passes in the guest: it is not a stall.
    this.lastHostMs = this.timing.nowMs();
    this.advanceClock();
  }

  /** Lets the host's event loop run between slices; that host time is not the guest's. */
  private async yieldToHost(): Promise<void> {
    if (this.opts.deterministic || this.maxStepMs === Infinity) { await this.timing.yield(); return; }
    const before = this.timing.nowMs();
    await this.timing.yield();
    const after = this.timing.nowMs();
    const away = Math.max(0, after - Math.max(before, this.lastHostMs));
    this.baseHostMs += away;
    this.behindMs += away;
    this.lastHostMs = after;
  }

  private virtualNow(): number {
    if (this.opts.deterministic) {
      return this.baseNs + (this.clockInstructions() - this.baseInstr) * this.nsPerInstr;
    }
    return this.baseNs + (this.hostNowMs() - this.baseHostMs) * 1e6;
  }

  /**
   * Real-time mode: the host clock, with the part of a stall beyond one step since the
   * previous reading moved out of the time base (stolen time; see the header).
   */
  private hostNowMs(): number {
    const now = this.timing.nowMs();
    const gap = now - this.lastHostMs;
    if (gap > this.maxStepMs) {
      this.baseHostMs += gap - this.maxStepMs;
      this.behindMs += gap - this.maxStepMs;
    }
    this.lastHostMs = now;
    return now;
  }

  /** Fires the timers that fell due by the current virtual time. */
  private advanceClock(): void {
    const now = this.virtualNow();
    if (now > this.target.clock.advancedNs()) this.target.clock.advanceTo(now);
  }

  /** Re-anchors the time base (after a pause, at start, after a CPU reset). */
  private rebase(): void {
    this.baseNs = this.target.clock.advancedNs();
    this.baseInstr = this.clockInstructions();
    this.baseHostMs = this.timing.nowMs();
    this.lastHostMs = this.baseHostMs;
  }

  private clockInstructions(): number {
    return this.target.clockInstructions?.() ?? this.target.cpu.instructionsRetired;
  }

  private setState(s: RunState): void {
    this.state = s;
    this.opts.onState?.(s);
  }
}
