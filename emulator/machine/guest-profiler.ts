/**
 * A sampling profiler of guest code: after every chunk of guest execution the run loop
 * hands it the CPU, and it counts where the guest was (CS and EIP). Chunks are a fixed
 * number of instructions, so the samples are spread by executed instructions, not by
 * host time: the report says which guest code runs most, the question behind "why does
 * this guest boot slowly" (it found that 85 % of a Debian kernel's boot instructions are
 * its XZ decompressor). `vireo run --profile FILE` writes the report;
 * scripts/guest-profile.mjs names the addresses from a kallsyms or System.map file.
 */
import type { CpuBackend } from '../cpu/backend.js';

/** One line of the report. */
export interface ProfileEntry {
  cs: number;
  eip: number;
  samples: number;
}

/** Counts guest (CS, EIP) pairs. */
export class GuestProfiler {
  private readonly counts = new Map<number, number>();
  private total = 0;

  /** Takes one sample from `cpu` (the run loop's `onChunk` hook). */
  sample(cpu: CpuBackend): void {
    const r = cpu.getRegs();
    // CS in the high bits of a 48-bit key: exact in a double.
    const key = (r.cs & 0xffff) * 0x1_0000_0000 + (r.eip >>> 0);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.total++;
  }

  /** Number of samples taken. */
  get samples(): number {
    return this.total;
  }

  /** Every sampled location, most samples first. */
  entries(): ProfileEntry[] {
    const out: ProfileEntry[] = [];
    for (const [key, samples] of this.counts) {
      out.push({ cs: Math.floor(key / 0x1_0000_0000), eip: key % 0x1_0000_0000, samples });
    }
    return out.sort((a, b) => b.samples - a.samples || a.eip - b.eip);
  }

  /**
   * The report: a header line, then `samples cs:eip` per location, most samples first
   * (hexadecimal CS and EIP; scripts/guest-profile.mjs reads this format).
   */
  report(instructionsPerSample: number): string {
    const lines = [`# vireo guest profile: ${this.total} samples, one per ${instructionsPerSample} instructions; samples cs:eip`];
    for (const e of this.entries()) lines.push(`${e.samples} ${e.cs.toString(16).padStart(4, '0')}:${e.eip.toString(16).padStart(8, '0')}`);
    return lines.join('\n') + '\n';
  }
}
