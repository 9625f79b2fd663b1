import { describe, expect, it } from 'vitest';
import { CpuExit, type CpuBackend, type CpuRegs } from '../cpu/backend.js';
import { SmpCpus } from './smp-cpus.js';

/** A scripted CPU: retires one instruction per budget unit, halts at `haltAt`, wakes on `wake()`. */
class FakeCpu implements CpuBackend {
  readonly kind = 'interp' as const;
  instructionsRetired = 0;
  lastError: string | undefined;
  halted = false;
  haltAt = Infinity;
  kicked = false;
  resets = 0;
  regs: Partial<CpuRegs> = {};
  nmis = 0;
  readonly turns: number[] = [];
  /** Called once per retired instruction with the CPU's count (to script side effects). */
  onInstruction: ((n: number) => void) | undefined;
  error: string | undefined;

  run(max: number): CpuExit {
    this.turns.push(max);
    if (this.error !== undefined) { this.lastError = this.error; return CpuExit.Error; }
    if (this.halted) return CpuExit.Halt;
    for (let i = 0; i < max; i++) {
      if (this.kicked) { this.kicked = false; return CpuExit.Yield; }
      this.instructionsRetired++;
      this.onInstruction?.(this.instructionsRetired);
      if (this.instructionsRetired >= this.haltAt) { this.halted = true; return CpuExit.Halt; }
    }
    return CpuExit.Yield;
  }
  wake(): void { this.halted = false; this.haltAt = Infinity; }
  kick(): void { this.kicked = true; }
  nmi(): void { this.nmis++; }
  setA20(): void {}
  reset(): void { this.resets++; this.instructionsRetired = 0; this.halted = false; this.regs = {}; }
  getRegs(): CpuRegs {
    return { eax: 0, ecx: 0, edx: 0, ebx: 0, esp: 0, ebp: 0, esi: 0, edi: 0, eip: this.regs.eip ?? 0xfff0, eflags: this.regs.eflags ?? 2,
      cs: this.regs.cs ?? 0xf000, ds: 0, es: 0, fs: 0, gs: 0, ss: 0, cr0: 0, cr2: 0, cr3: 0, cr4: 0 };
  }
  setRegs(r: Partial<CpuRegs>): void { this.regs = { ...this.regs, ...r }; }
}

function group(n: number, quantum = 10) {
  const cpus = Array.from({ length: n }, () => new FakeCpu());
  const logs: string[] = [];
  const smp = new SmpCpus(cpus, { quantum, log: (m) => logs.push(m) });
  return { cpus, smp, logs };
}

describe('SmpCpus: MP start-up (SDM Vol. 3A 9.4, 11.6.1)', () => {
  it('runs only the BSP at power-on; the APs wait for a STARTUP IPI', () => {
    const { cpus, smp } = group(3);
    expect(smp.run(100)).toBe(CpuExit.Yield);
    expect(cpus.map((c) => c.instructionsRetired)).toEqual([100, 0, 0]);
    expect(cpus[0]!.turns).toEqual([100]); // alone: the whole budget in one turn
    expect([0, 1, 2].map((i) => smp.runState(i))).toEqual(['running', 'wait-for-sipi', 'wait-for-sipi']);
  });

  it('INIT then STARTUP starts an AP in real mode at CS = vector << 8, IP = 0; a second SIPI is ignored', () => {
    const { cpus, smp, logs } = group(2);
    smp.init(1);
    expect(cpus[1]!.resets).toBe(1);
    expect(smp.runState(1)).toBe('wait-for-sipi');
    smp.startup(1, 0x9a);
    expect(smp.runState(1)).toBe('running');
    expect(cpus[1]!.regs).toEqual({ cs: 0x9a00, eip: 0 });
    smp.startup(1, 0x10);
    expect(cpus[1]!.regs.cs).toBe(0x9a00);
    expect(logs[0]).toMatch(/not waiting/);
    smp.run(40);
    expect(cpus[1]!.instructionsRetired).toBeGreaterThan(0);
    smp.init(1); // INIT stops it again
    expect(smp.runState(1)).toBe('wait-for-sipi');
    smp.init(0); // the BSP restarts at the reset vector and keeps running
    expect(smp.runState(0)).toBe('running');
    expect(cpus[0]!.resets).toBe(1);
  });

  it('applies INIT and SIPI sent during a turn when the turn ends; a CPU signalling itself is kicked', () => {
    const { cpus, smp } = group(2);
    cpus[0]!.onInstruction = (n) => {
      if (n === 5) { smp.init(1); smp.startup(1, 0x08); expect(smp.runState(1)).toBe('wait-for-sipi'); }
      if (n === 7) smp.init(0);
    };
    smp.run(100);
    expect(cpus[0]!.resets).toBe(1); // after the turn, which the kick ended at instruction 7
    expect(cpus[0]!.turns[0]).toBe(100);
    expect(smp.runState(1)).toBe('running');
    expect(cpus[1]!.regs.cs).toBe(0x0800);
  });

  it('routes NMIs by CPU index', () => {
    const { cpus, smp } = group(2);
    smp.nmiTo(1);
    smp.nmi();
    expect(cpus.map((c) => c.nmis)).toEqual([1, 1]);
  });
});

describe('SmpCpus: round-robin and time', () => {
  it('advances the instruction clock once per round (the longest turn), not by the sum', () => {
    const { cpus, smp } = group(2, 10);
    smp.startup(1, 1); // APs wait for a SIPI from power-on
    expect(smp.run(1000)).toBe(CpuExit.Yield);
    expect(smp.clockInstructions).toBe(1000);
    const [a, b] = [cpus[0]!.instructionsRetired, cpus[1]!.instructionsRetired];
    expect(a).toBe(b); // the same turn length for every CPU in a round
    expect(smp.instructionsRetired).toBe(a + b);
    for (const t of [...cpus[0]!.turns, ...cpus[1]!.turns]) expect(t).toBeLessThanOrEqual(10);
    expect(Math.min(...cpus[0]!.turns.slice(0, -1))).toBeGreaterThanOrEqual(5);
    expect(new Set(cpus[0]!.turns).size).toBeGreaterThan(1); // varied turn lengths
  });

  it('reads the clock monotonically inside a round (the furthest CPU so far)', () => {
    const { cpus, smp } = group(2, 10);
    smp.startup(1, 1);
    const seen: number[] = [];
    for (const c of cpus) c.onInstruction = () => seen.push(smp.clockInstructions);
    smp.run(200);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
  });

  it('skips halted CPUs (a poll) and ends the run with Halt when every CPU halted', () => {
    const { cpus, smp } = group(2, 10);
    smp.startup(1, 1);
    cpus[1]!.haltAt = 3;
    expect(smp.run(200)).toBe(CpuExit.Yield);
    expect(cpus[1]!.instructionsRetired).toBe(3);
    expect(cpus[0]!.instructionsRetired).toBe(200); // time went on for the running CPU
    cpus[0]!.haltAt = cpus[0]!.instructionsRetired + 4;
    const before = smp.clockInstructions;
    expect(smp.run(200)).toBe(CpuExit.Halt); // the round ended early
    expect(smp.clockInstructions - before).toBe(4);
    expect(smp.interruptible()).toBe(false);
    cpus[1]!.regs.eflags = 0x202;
    expect(smp.interruptible()).toBe(true);
  });

  it('does not report Halt for a round in which a halted CPU was signalled', () => {
    const { cpus, smp } = group(2, 10);
    smp.startup(1, 1);
    cpus[0]!.haltAt = 2;
    cpus[1]!.onInstruction = (n) => { if (n === 2) { cpus[0]!.wake(); smp.interruptPending(0); } };
    cpus[1]!.haltAt = 2;
    expect(smp.run(100)).toBe(CpuExit.Yield);
    expect(cpus[0]!.instructionsRetired).toBeGreaterThan(2);
  });

  it('stops at kick() and passes Reset, Shutdown and Error on (naming the CPU)', () => {
    const { cpus, smp } = group(2, 10);
    smp.startup(1, 1);
    cpus[0]!.onInstruction = (n) => { if (n === 15) smp.kick(); };
    expect(smp.run(1000)).toBe(CpuExit.Yield);
    expect(smp.clockInstructions).toBeLessThan(40);
    smp.kick();
    expect(smp.run(1000)).toBe(CpuExit.Yield); // a kick between runs ends the next one at once
    cpus[1]!.error = 'bad opcode';
    expect(smp.run(100)).toBe(CpuExit.Error);
    expect(smp.lastError).toBe('CPU 1: bad opcode');
  });

  it('is reproducible: reset restores the power-on states and the turn sequence', () => {
    const { cpus, smp } = group(2, 10);
    smp.startup(1, 1);
    smp.run(300);
    const first = cpus[0]!.turns.slice();
    smp.reset();
    expect(smp.runState(1)).toBe('wait-for-sipi');
    expect(smp.clockInstructions).toBe(0);
    for (const c of cpus) c.turns.length = 0;
    smp.startup(1, 1);
    smp.run(300);
    expect(cpus[0]!.turns).toEqual(first);
  });
});
