/**
 * SmpCpus: the vCPUs of one machine driven in one host thread, round-robin, presented to
 * the RunLoop as a single CpuBackend; plus the multiprocessor start-up states the CPUs'
 * INIT and STARTUP IPIs move them through.
 *
 * Follows: Intel SDM Vol. 3A 9.4 (8.4 in older editions) "Multiple-Processor (MP)
 * Initialization": at power-on only the bootstrap processor (CPU 0) runs, every
 * application processor waits for a STARTUP IPI; 9.4.4.1 / 11.6.1 (10.6.1): INIT resets a
 * processor (the BSP then starts again at the reset vector, an AP enters wait-for-SIPI),
 * a STARTUP IPI with vector VV starts a waiting AP in real mode at CS = VV00h (base
 * VV000h), IP = 0, and is ignored by a processor that is not waiting for one.
 *
 * Scheduling (our choice, as QEMU's single-threaded TCG round-robin): a round gives each
 * CPU that is not waiting for a SIPI one turn of at most `quantum` instructions, in CPU
 * order; a CPU alone out of wait-for-SIPI gets the whole budget. Every CPU gets the same
 * turn length in a round; the length varies from round to round pseudo-randomly between
 * quantum/2 and quantum (a fixed-seed xorshift, so deterministic
 * runs stay reproducible): with fixed turns, a CPU that releases and retakes a lock within
 * a few instructions (SeaBIOS's BSP waiting for the APs to count themselves) would always
 * be preempted while holding it, and the CPU waiting for the lock would never get it.
 * A halted CPU's turn is a
 * poll of its INTR/NMI (the backend returns Halt at once); a round in which every CPU
 * halted, and that signalled no CPU, ends the run with Halt.
 *
 * Time accounting: the CPUs run side by side in virtual time. A round advances the
 * instruction clock (`clockInstructions`, what deterministic virtual time follows) by the
 * most instructions any CPU retired in it, not by their sum; inside a round the clock reads
 * as the furthest any CPU has got, so it never goes back when the next CPU takes its turn
 * (TSC, PIT and HPET reads stay monotonic across CPUs). `instructionsRetired` is the sum
 * over all CPUs (the machine's instruction statistics).
 *
 * INIT and STARTUP arriving during a turn are applied when the turn ends (the sending
 * instruction completes first); a CPU that signals itself is kicked so its turn ends at
 * the next instruction boundary. Leaves out: INIT keeping x87/MSR state (the backend's
 * reset is a full power-on reset), the BSP flag moving, SMI.
 */
import { CpuExit, type CpuBackend, type CpuRegs } from '../cpu/backend.js';

/** Where a vCPU is in the MP start-up protocol. */
export type VcpuRunState = 'running' | 'wait-for-sipi';

/** Options of SmpCpus. */
export interface SmpCpusOptions {
  /** Instructions per turn while more than one CPU is out of wait-for-SIPI (default 10 000). */
  quantum?: number;
  /** Diagnostics (ignored SIPIs). */
  log?: (message: string) => void;
}

/** Default turn length in instructions: 10 µs of virtual time at 1 ns per instruction. */
export const DEFAULT_SMP_QUANTUM = 10_000;

/** Seed of the turn-length sequence. */
const TURN_SEED = 0x9e37_79b9;

type PendingSignal = { cpu: number; kind: 'init' } | { cpu: number; kind: 'startup'; vector: number };

/** N CPU backends as one, run round-robin (CPU 0 is the bootstrap processor). */
export class SmpCpus implements CpuBackend {
  /** @inheritdoc */
  readonly kind: CpuBackend['kind'];
  /** @inheritdoc */
  lastError: string | undefined;
  private readonly quantum: number;
  private readonly states: VcpuRunState[];
  private readonly pending: PendingSignal[] = [];
  /** The CPU whose turn it is, or -1 between turns. */
  private current = -1;
  /** `instructionsRetired` of the current CPU when its turn began. */
  private turnStart = 0;
  /** Instructions retired by all CPUs in finished turns. */
  private retired = 0;
  /** The instruction clock at the start of the current round. */
  private roundBase = 0;
  /** The most instructions one CPU has retired in the current round. */
  private roundProgress = 0;
  private stopRequested = false;
  /** Counts signals (interrupts, NMIs, INIT, SIPI) sent to CPUs: a round that saw one is not idle. */
  private signals = 0;
  /** xorshift32 state for the turn lengths (reset to the seed on power-on). */
  private rng = TURN_SEED;

  constructor(private readonly cpus: readonly CpuBackend[], private readonly opts: SmpCpusOptions = {}) {
    if (cpus.length === 0) throw new RangeError('smp: at least one CPU');
    const q = opts.quantum ?? DEFAULT_SMP_QUANTUM;
    if (!Number.isInteger(q) || q < 1) throw new RangeError(`smp: quantum must be a positive integer, got ${q}`);
    this.quantum = q;
    this.kind = cpus[0]!.kind;
    this.states = cpus.map((_, i) => (i === 0 ? 'running' : 'wait-for-sipi'));
  }

  /** Number of CPUs. */
  get count(): number {
    return this.cpus.length;
  }

  /** CPU `index`'s backend. */
  cpu(index: number): CpuBackend {
    const c = this.cpus[index];
    if (c === undefined) throw new RangeError(`smp: no CPU ${index}`);
    return c;
  }

  /** Where CPU `index` is in the MP start-up protocol. */
  runState(index: number): VcpuRunState {
    this.cpu(index);
    return this.states[index]!;
  }

  /** @inheritdoc Sum over all CPUs, across INITs (live during a turn). */
  get instructionsRetired(): number {
    return this.retired + (this.current >= 0 ? this.cpus[this.current]!.instructionsRetired - this.turnStart : 0);
  }

  /**
   * The instruction clock deterministic virtual time follows: one round advances it by
   * the longest turn in it; during a turn it reads the furthest any CPU has got this round.
   */
  get clockInstructions(): number {
    const live = this.current >= 0 ? this.cpus[this.current]!.instructionsRetired - this.turnStart : 0;
    return this.roundBase + Math.max(this.roundProgress, live);
  }

  /**
   * Runs rounds until the instruction clock has advanced by `maxInstructions`, `kick()`,
   * an exit the machine must handle (Reset, Shutdown, Error: from any CPU), or a round in
   * which every running CPU halted and nothing was signalled (Halt).
   */
  run(maxInstructions: number): CpuExit {
    if (this.stopRequested) { this.stopRequested = false; return CpuExit.Yield; }
    const target = this.roundBase + Math.max(0, Math.floor(maxInstructions));
    for (;;) {
      const signalsBefore = this.signals;
      let runnable = 0;
      for (const s of this.states) if (s === 'running') runnable++;
      const remaining = target - this.roundBase;
      const turn = runnable > 1 ? Math.min(this.nextTurnLength(), remaining) : remaining;
      let allHalted = true;
      let exit: CpuExit = CpuExit.Yield;
      for (let i = 0; i < this.cpus.length; i++) {
        if (this.states[i] !== 'running') continue;
        exit = this.turn(i, turn);
        this.applyPending();
        if (exit === CpuExit.Reset || exit === CpuExit.Shutdown || exit === CpuExit.Error) break;
        if (exit !== CpuExit.Halt) allHalted = false;
        if (this.stopRequested) break;
      }
      this.roundBase += this.roundProgress;
      this.roundProgress = 0;
      if (exit === CpuExit.Reset || exit === CpuExit.Shutdown || exit === CpuExit.Error) return exit;
      if (this.stopRequested) { this.stopRequested = false; return CpuExit.Yield; }
      if (allHalted && this.signals === signalsBefore) return CpuExit.Halt;
      if (this.roundBase >= target) return CpuExit.Yield;
    }
  }

  /** A turn length in [quantum/2, quantum] from the xorshift32 sequence. */
  private nextTurnLength(): number {
    let x = this.rng;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.rng = x >>> 0;
    const half = Math.ceil(this.quantum / 2);
    return half + (this.rng % (this.quantum - half + 1));
  }

  private turn(i: number, budget: number): CpuExit {
    const cpu = this.cpus[i]!;
    this.current = i;
    this.turnStart = cpu.instructionsRetired;
    let exit: CpuExit;
    try {
      exit = cpu.run(budget);
    } finally {
      const done = cpu.instructionsRetired - this.turnStart;
      this.current = -1;
      this.retired += done;
      if (done > this.roundProgress) this.roundProgress = done;
    }
    if (exit === CpuExit.Error) {
      const msg = cpu.lastError ?? 'CPU backend error';
      this.lastError = this.cpus.length > 1 ? `CPU ${i}: ${msg}` : msg;
    }
    return exit;
  }

  /** @inheritdoc Ends the current run at the next instruction boundary (or the next run at once). */
  kick(): void {
    this.stopRequested = true;
    if (this.current >= 0) this.cpus[this.current]!.kick();
  }

  /**
   * An interrupt became deliverable to CPU `index` (the board's INTR notification): the
   * CPU polls it at its next turn; the current round is not idle.
   */
  interruptPending(index: number): void {
    if (index >= 0 && index < this.cpus.length) this.signals++;
  }

  /** @inheritdoc NMI for the bootstrap processor. */
  nmi(): void {
    this.nmiTo(0);
  }

  /** NMI for CPU `index` (SDM Vol. 3A 11.6.1 NMI delivery mode). */
  nmiTo(index: number): void {
    this.cpu(index).nmi();
    this.signals++;
  }

  /** INIT for CPU `index`: the BSP restarts at the reset vector, an AP waits for a SIPI. */
  init(index: number): void {
    this.signal({ cpu: index, kind: 'init' });
  }

  /** STARTUP IPI with `vector` for CPU `index`: starts it at vector << 12 if it waits for one. */
  startup(index: number, vector: number): void {
    this.signal({ cpu: index, kind: 'startup', vector: vector & 0xff });
  }

  private signal(s: PendingSignal): void {
    this.cpu(s.cpu);
    this.signals++;
    this.pending.push(s);
    if (this.current < 0) this.applyPending();
    else if (this.current === s.cpu) this.cpus[s.cpu]!.kick();
  }

  private applyPending(): void {
    for (let s = this.pending.shift(); s !== undefined; s = this.pending.shift()) {
      const cpu = this.cpus[s.cpu]!;
      if (s.kind === 'init') {
        cpu.reset();
        this.states[s.cpu] = s.cpu === 0 ? 'running' : 'wait-for-sipi';
      } else if (this.states[s.cpu] === 'wait-for-sipi') {
        // Real mode at VV00:0000 (the backend's reset left CS limit 0xFFFF, data segments 0).
        cpu.setRegs({ cs: s.vector << 8, eip: 0 });
        this.states[s.cpu] = 'running';
      } else {
        this.opts.log?.(`smp: STARTUP 0x${s.vector.toString(16)} for CPU ${s.cpu}, which is not waiting for one, ignored`);
      }
    }
  }

  /** True when some running CPU has EFLAGS.IF set (an interrupt could still wake the machine). */
  interruptible(): boolean {
    return this.cpus.some((c, i) => this.states[i] === 'running' && (c.getRegs().eflags & 0x200) !== 0);
  }

  /** @inheritdoc The A20 gate is a board line: every CPU sees it. */
  setA20(enabled: boolean): void {
    for (const c of this.cpus) c.setA20(enabled);
  }

  /** @inheritdoc Power-on: every CPU reset, only the BSP runs, the APs wait for a SIPI. */
  reset(): void {
    for (const c of this.cpus) c.reset();
    this.states.forEach((_, i) => { this.states[i] = i === 0 ? 'running' : 'wait-for-sipi'; });
    this.pending.length = 0;
    this.retired = 0;
    this.roundBase = 0;
    this.roundProgress = 0;
    this.current = -1;
    this.rng = TURN_SEED;
  }

  /** @inheritdoc The BSP's registers. */
  getRegs(): CpuRegs {
    return this.cpus[0]!.getRegs();
  }

  /** @inheritdoc The BSP's registers. */
  setRegs(r: Partial<CpuRegs>): void {
    this.cpus[0]!.setRegs(r);
  }

  /** @inheritdoc */
  close(): void {
    for (const c of this.cpus) c.close?.();
  }
}
