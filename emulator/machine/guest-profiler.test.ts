import { describe, expect, it } from 'vitest';
import { CpuExit, type CpuBackend, type CpuRegs } from '../cpu/backend.js';
import { VirtualClock } from '../time/clock.js';
import { GuestProfiler } from './guest-profiler.js';
import { RunLoop } from './run-loop.js';

function cpuAt(points: Array<[number, number]>): CpuBackend & { step: number } {
  const regs: CpuRegs = { eax: 0, ecx: 0, edx: 0, ebx: 0, esp: 0, ebp: 0, esi: 0, edi: 0, eip: 0, eflags: 0x202,
    cs: 0, ds: 0, es: 0, fs: 0, gs: 0, ss: 0, cr0: 0, cr2: 0, cr3: 0, cr4: 0 };
  const cpu = {
    kind: 'interp' as const, instructionsRetired: 0, lastError: undefined, step: 0,
    run(budget: number): CpuExit {
      const [cs, eip] = points[cpu.step % points.length]!;
      regs.cs = cs; regs.eip = eip;
      cpu.step++;
      cpu.instructionsRetired += budget;
      return CpuExit.Yield;
    },
    kick: () => {}, nmi: () => {}, setA20: () => {}, reset: () => {},
    getRegs: () => ({ ...regs }), setRegs: () => {},
  };
  return cpu;
}

describe('GuestProfiler', () => {
  it('counts where the guest is after each chunk of the run loop, most frequent first', async () => {
    const profiler = new GuestProfiler();
    const cpu = cpuAt([[0x60, 0xc1000010], [0x60, 0xc1000010], [0xf000, 0xfff0], [0x60, 0xc1000010]]);
    const clock = new VirtualClock();
    const timing = { nowMs: () => 0, yield: async () => {}, sleep: async () => {}, wake: () => {} };
    const loop = new RunLoop({ cpu, clock, reset: () => {} }, timing, {
      deterministic: true, chunkInstructions: 1000,
      onChunk: (c) => { profiler.sample(c); if (profiler.samples === 8) loop.stop({ kind: 'requested', detail: 'test' }); },
    });
    await loop.run();
    expect(profiler.entries()).toEqual([
      { cs: 0x60, eip: 0xc1000010, samples: 6 },
      { cs: 0xf000, eip: 0xfff0, samples: 2 },
    ]);
    expect(profiler.report(1000).split('\n')).toEqual([
      '# vireo guest profile: 8 samples, one per 1000 instructions; samples cs:eip',
      '6 0060:c1000010',
      '2 f000:0000fff0',
      '',
    ]);
  });
});
