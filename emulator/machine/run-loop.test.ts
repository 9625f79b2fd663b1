import { describe, expect, it } from 'vitest';
import { CpuExit, type CpuBackend, type CpuRegs } from '../cpu/backend.js';
import { VirtualClock } from '../time/clock.js';
import type { HostTiming } from './host-timing.js';
import { RunLoop } from './run-loop.js';

/** A CPU that retires instructions and follows a script of exits. */
class ScriptedCpu implements CpuBackend {
  readonly kind = 'interp' as const;
  instructionsRetired = 0;
  lastError: string | undefined;
  halted = false;
  eflags = 0x202;
  resets = 0;
  /** Called before each run; may return an exit to take immediately. */
  onRun: (cpu: ScriptedCpu, budget: number) => CpuExit | undefined = () => undefined;
  run(budget: number): CpuExit {
    const forced = this.onRun(this, budget);
    if (forced !== undefined) return forced;
    if (this.halted) return CpuExit.Halt;
    this.instructionsRetired += budget;
    return CpuExit.Yield;
  }
  kick(): void {}
  nmi(): void {}
  setA20(): void {}
  reset(): void { this.instructionsRetired = 0; this.resets++; }
  getRegs(): CpuRegs {
    return { eax: 0, ecx: 0, edx: 0, ebx: 0, esp: 0, ebp: 0, esi: 0, edi: 0, eip: 0, eflags: this.eflags,
      cs: 0, ds: 0, es: 0, fs: 0, gs: 0, ss: 0, cr0: 0, cr2: 0, cr3: 0, cr4: 0 };
  }
  setRegs(): void {}
}

function fakeTiming(): HostTiming & { t: number } {
  const timing = {
    t: 0,
    nowMs: () => timing.t,
    yield: async () => { timing.t += 1; await Promise.resolve(); },
    sleep: async (ms: number) => { timing.t += ms; await Promise.resolve(); },
    wake: () => {},
  };
  return timing;
}

describe('RunLoop (deterministic)', () => {
  it('stops exactly at timer deadlines and jumps time while halted', async () => {
    const cpu = new ScriptedCpu();
    const clock = new VirtualClock();
    const fired: Array<{ ns: number; instr: number }> = [];
    clock.at(1000, () => fired.push({ ns: clock.nowNs(), instr: cpu.instructionsRetired }));
    clock.at(5_000_000, () => { fired.push({ ns: clock.nowNs(), instr: cpu.instructionsRetired }); cpu.halted = false; });
    const loop = new RunLoop({ cpu, clock, reset: () => cpu.reset() }, fakeTiming(), { deterministic: true, nsPerInstruction: 2, chunkInstructions: 1000 });
    cpu.onRun = (c) => {
      if (c.instructionsRetired >= 4000 && fired.length === 1 && !c.halted) { c.halted = true; return CpuExit.Halt; }
      if (fired.length === 2 && c.instructionsRetired > 6000) { loop.stop({ kind: 'requested', detail: 'test' }); return CpuExit.Yield; }
      return undefined;
    };
    const reason = await loop.run();
    expect(reason).toEqual({ kind: 'requested', detail: 'test' });
    // The first timer fired when exactly 500 instructions (1000 ns / 2 ns) had retired.
    expect(fired[0]).toEqual({ ns: 1000, instr: 500 });
    // The halt made time jump to the second deadline without executing more instructions.
    expect(fired[1]!.ns).toBe(5_000_000);
    expect(fired[1]!.instr).toBe(4500);
  });

  it('reports a CPU halted with interrupts off and no timers as halted forever', async () => {
    const cpu = new ScriptedCpu();
    cpu.halted = true;
    cpu.eflags = 0x2;
    const loop = new RunLoop({ cpu, clock: new VirtualClock(), reset: () => cpu.reset() }, fakeTiming(), { deterministic: true });
    expect(await loop.run()).toEqual({ kind: 'halted-forever' });
  });

  it('resets the machine on a reset exit and keeps counting instructions', async () => {
    const cpu = new ScriptedCpu();
    let machineResets = 0;
    const loop = new RunLoop({ cpu, clock: new VirtualClock(), reset: () => { machineResets++; cpu.reset(); } }, fakeTiming(), { deterministic: true, chunkInstructions: 100 });
    let runs = 0;
    cpu.onRun = () => {
      runs++;
      if (runs === 3) return CpuExit.Reset;
      if (runs === 6) return CpuExit.Shutdown;
      return undefined;
    };
    expect(await loop.run()).toEqual({ kind: 'power-off' });
    expect(machineResets).toBe(1);
    expect(loop.instructions).toBe(400);
  });

  it('turns a backend error into an error stop with the message', async () => {
    const cpu = new ScriptedCpu();
    cpu.onRun = (c) => { c.lastError = 'KVM_EXIT_FAIL_ENTRY: hardware entry failure 0x80000021'; return CpuExit.Error; };
    const loop = new RunLoop({ cpu, clock: new VirtualClock(), reset: () => cpu.reset() }, fakeTiming(), { deterministic: false });
    expect(await loop.run()).toEqual({ kind: 'error', message: 'KVM_EXIT_FAIL_ENTRY: hardware entry failure 0x80000021' });
  });

  it('pauses and resumes without executing while paused', async () => {
    const cpu = new ScriptedCpu();
    const states: string[] = [];
    const loop = new RunLoop({ cpu, clock: new VirtualClock(), reset: () => cpu.reset() }, fakeTiming(), { deterministic: true, chunkInstructions: 10, onState: (s) => states.push(s) });
    let runs = 0;
    let atPause = -1;
    cpu.onRun = (c) => {
      runs++;
      if (runs === 2) {
        loop.pause();
        atPause = c.instructionsRetired;
        setTimeout(() => {
          expect(c.instructionsRetired).toBe(atPause + 10);
          loop.resume();
        }, 5);
      }
      if (runs === 4) loop.stop({ kind: 'requested', detail: 'done' });
      return undefined;
    };
    await loop.run();
    expect(states).toEqual(['running', 'paused', 'running', 'stopped']);
  });
});

describe('RunLoop reset requests', () => {
  it('applies a device reset request at the next instruction boundary', async () => {
    const cpu = new ScriptedCpu();
    let machineResets = 0;
    const loop = new RunLoop({ cpu, clock: new VirtualClock(), reset: () => { machineResets++; cpu.reset(); } }, fakeTiming(), { deterministic: true, chunkInstructions: 10 });
    let runs = 0;
    cpu.onRun = (c) => {
      runs++;
      if (runs === 2) { c.instructionsRetired += 3; loop.requestReset(); return CpuExit.Yield; }
      if (runs === 4) loop.stop({ kind: 'requested', detail: 'done' });
      return undefined;
    };
    await loop.run();
    expect(machineResets).toBe(1);
    expect(cpu.resets).toBe(1);
    expect(loop.instructions).toBe(10 + 3 + 10 + 10);
  });
});

describe('RunLoop live virtual time', () => {
  it('lets devices see time advance within a chunk (exactly per instruction in deterministic mode)', async () => {
    const cpu = new ScriptedCpu();
    const clock = new VirtualClock();
    const seen: number[] = [];
    const loop = new RunLoop({ cpu, clock, reset: () => cpu.reset() }, fakeTiming(), { deterministic: true, nsPerInstruction: 3, chunkInstructions: 1000 });
    cpu.onRun = (c) => {
      // A device polled mid-chunk, after 10 and 20 instructions of this chunk.
      c.instructionsRetired += 10; seen.push(clock.nowNs());
      c.instructionsRetired += 10; seen.push(clock.nowNs());
      loop.stop({ kind: 'requested', detail: 'done' });
      return CpuExit.Yield;
    };
    await loop.run();
    expect(seen).toEqual([30, 60]);
    expect(clock.advancedNs()).toBe(60);
  });

  it('does not let time pass for devices while paused', async () => {
    const cpu = new ScriptedCpu();
    const clock = new VirtualClock();
    const timing = fakeTiming();
    const loop = new RunLoop({ cpu, clock, reset: () => cpu.reset() }, timing, { deterministic: false, chunkInstructions: 10 });
    let runs = 0;
    let atPause = 0;
    cpu.onRun = () => {
      runs++;
      if (runs === 2) {
        loop.pause();
        atPause = clock.nowNs();
        setTimeout(() => {
          timing.t += 1000; // a second of host time passes while paused
          expect(clock.nowNs()).toBe(atPause);
          loop.resume();
        }, 5);
      }
      if (runs === 4) loop.stop({ kind: 'requested', detail: 'done' });
      return undefined;
    };
    await loop.run();
    expect(clock.nowNs() - atPause).toBeLessThan(100e6);
  });
});

describe('RunLoop stolen time (real-time mode)', () => {
  it('moves virtual time at most one step past a host stall while the CPU runs, so periodic ticks stay separate', async () => {
    const cpu = new ScriptedCpu();
    const clock = new VirtualClock();
    const timing = fakeTiming();
    // A 4 ms periodic timer (Linux's HZ=250 tick) and a CPU whose every chunk takes 45 ms of host time.
    const ticks: number[] = [];
    const tick = (at: number): void => { clock.at(at, () => { ticks.push(clock.nowNs()); tick(at + 4_000_000); }); };
    tick(4_000_000);
    const virtualAfterChunk: number[] = [];
    const loop = new RunLoop({ cpu, clock, reset: () => cpu.reset() }, timing, { deterministic: false, chunkInstructions: 1000 });
    cpu.onRun = () => {
      virtualAfterChunk.push(clock.advancedNs());
      if (virtualAfterChunk.length > 20) { loop.stop({ kind: 'requested', detail: 'test' }); return CpuExit.Yield; }
      timing.t += 45;
      return undefined;
    };
    await loop.run();
    const steps = virtualAfterChunk.slice(1).map((v, i) => v - virtualAfterChunk[i]!);
    for (const s of steps) expect(s).toBeLessThanOrEqual(10_000_000 + 1_000_000); // one step (+ the 1 ms yield)
    // 20 chunks of at most ~11 ms: no more than ~3 ticks per chunk, none lost to a 45 ms jump.
    expect(clock.advancedNs()).toBeLessThan(20 * 11_000_000 + 1);
    expect(ticks.length).toBeGreaterThanOrEqual(40);
  });

  it('keeps time flowing through a chunk slower than one step (no freeze at the cap)', async () => {
    // A chunk of slow port I/O: 30 reads of the clock, 1 ms of host time apart (30 ms in all).
    const cpu = new ScriptedCpu();
    const clock = new VirtualClock();
    const timing = fakeTiming();
    const reads: number[] = [];
    const loop = new RunLoop({ cpu, clock, reset: () => cpu.reset() }, timing, { deterministic: false, chunkInstructions: 1000 });
    cpu.onRun = () => {
      for (let i = 0; i < 30; i++) { timing.t += 1; reads.push(clock.nowNs()); }
      loop.stop({ kind: 'requested', detail: 'test' });
      return CpuExit.Yield;
    };
    await loop.run();
    const steps = reads.slice(1).map((v, i) => v - reads[i]!);
    for (const d of steps) expect(d).toBeCloseTo(1_000_000, 0);
  });

  it('hides the host turns between slices: a polling loop sees even steps across slice boundaries', async () => {
    // Linux's pit_calibrate_tsc: fails when the largest read-to-read step exceeds 10x the smallest.
    const cpu = new ScriptedCpu();
    const clock = new VirtualClock();
    const timing = fakeTiming(); // every yield to the host costs 1 ms
    const reads: number[] = [];
    const loop = new RunLoop({ cpu, clock, reset: () => cpu.reset() }, timing, { deterministic: false, chunkInstructions: 1000 });
    cpu.onRun = (c) => {
      for (let i = 0; i < 10; i++) { timing.t += 0.05; reads.push(clock.nowNs()); }
      c.instructionsRetired += 1000;
      if (reads.length >= 1000) loop.stop({ kind: 'requested', detail: 'test' });
      return CpuExit.Yield;
    };
    await loop.run();
    const steps = reads.slice(1).map((v, i) => v - reads[i]!);
    expect(Math.min(...steps)).toBeGreaterThan(0);
    expect(Math.max(...steps)).toBeLessThanOrEqual(10 * Math.min(...steps));
    // 1000 reads of 0.05 ms: 50 ms of guest time although the host also spent ~6 ms in yields.
    expect(reads.at(-1)! - reads[0]!).toBeCloseTo(49.95e6, -3);
    expect(timing.t).toBeGreaterThanOrEqual(54);
  });

  it('with maxRunningStepMs Infinity (KVM) virtual time is host time: host turns count', async () => {
    const cpu = new ScriptedCpu();
    const clock = new VirtualClock();
    const timing = fakeTiming();
    const reads: number[] = [];
    const loop = new RunLoop({ cpu, clock, reset: () => cpu.reset() }, timing,
      { deterministic: false, chunkInstructions: 1000, maxRunningStepMs: Infinity, sliceMs: 4 });
    cpu.onRun = () => {
      timing.t += 5;
      reads.push(clock.nowNs());
      if (reads.length === 10) loop.stop({ kind: 'requested', detail: 'test' });
      return CpuExit.Yield;
    };
    await loop.run();
    // 5 ms of execution plus a 1 ms yield per slice: 6 ms of virtual time per slice.
    expect(reads.at(-1)! - reads[0]!).toBeCloseTo(9 * 6e6, -3);
  });

  it('gives the time left out back while the guest is halted', async () => {
    const cpu = new ScriptedCpu();
    const clock = new VirtualClock();
    const timing = fakeTiming();
    let wokeAtHost = -1;
    const loop = new RunLoop({ cpu, clock, reset: () => cpu.reset() }, timing, { deterministic: false, chunkInstructions: 1000 });
    let chunks = 0;
    cpu.onRun = (c) => {
      if (c.halted) return undefined;
      if (wokeAtHost >= 0) { loop.stop({ kind: 'requested', detail: 'test' }); return CpuExit.Yield; }
      // 20 busy slices of 8 ms, each followed by a 1 ms host turn (20 ms left out), then HLT.
      timing.t += 8;
      if (++chunks === 20) {
        c.halted = true;
        clock.at(clock.nowNs() + 30_000_000, () => { wokeAtHost = timing.t; c.halted = false; });
        return CpuExit.Halt;
      }
      return CpuExit.Yield;
    };
    await loop.run();
    // The 30 ms wait is shortened by the 19 ms the guest fell behind.
    expect(wokeAtHost).toBeGreaterThan(0);
    expect(wokeAtHost - (20 * 8 + 19)).toBeLessThan(30 - 15);
  });

  it('still lets time jump to the next deadline while the CPU is halted', async () => {
    const cpu = new ScriptedCpu();
    const clock = new VirtualClock();
    const timing = fakeTiming();
    let woke = -1;
    clock.at(200_000_000, () => { woke = clock.advancedNs(); cpu.halted = false; });
    cpu.halted = true;
    const loop = new RunLoop({ cpu, clock, reset: () => cpu.reset() }, timing, { deterministic: false, chunkInstructions: 1000 });
    cpu.onRun = (c) => {
      if (!c.halted) { loop.stop({ kind: 'requested', detail: 'test' }); return CpuExit.Yield; }
      return undefined;
    };
    await loop.run();
    expect(woke).toBeGreaterThanOrEqual(200_000_000);
    // 200 ms of halt cost about 200 ms of host time (sleeps of up to 50 ms), not 20 steps of 10 ms each.
    expect(timing.t).toBeLessThan(260);
  });
});
