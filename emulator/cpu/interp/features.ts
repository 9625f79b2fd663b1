/**
 * The CPUID feature set of the interpreter and the CPUID leaves it reports.
 *
 * Intel SDM Vol. 2A, CPUID (leaves 0, 1, 0x80000000-0x80000004). Only features the core
 * actually implements are advertised; units that are wired in later (x87, MMX/SSE) and
 * optional board pieces (local APIC) switch their bits on through `CpuFeatures`.
 * Leaves out: cache/TLB descriptors (leaf 2 reports none), leaf 4+ topology, SSE3+.
 */

/** What the CPU advertises through CPUID (and, for `nx`/`pae`..., what it accepts). */
export interface CpuFeatures {
  /** x87 FPU present (bit FPU). */
  fpu: boolean;
  /** MMX unit present. */
  mmx: boolean;
  /** FXSAVE/FXRSTOR present. */
  fxsr: boolean;
  /** SSE present. */
  sse: boolean;
  /** SSE2 present. */
  sse2: boolean;
  /** A local APIC exists on the board (bit APIC). */
  apic: boolean;
  /** Execute-disable (CPUID 0x80000001 EDX bit 20, EFER.NXE accepted). */
  nx: boolean;
  /** MTRR MSRs (kept as storage only). */
  mtrr: boolean;
  /** PSE-36: physical address bits 32-35 in 4 MiB PDEs of 32-bit paging (memory.ts). */
  pse36: boolean;
  /** Virtual-8086 mode extensions and protected-mode virtual interrupts (CR4.VME/PVI accepted; vme.ts). */
  vme: boolean;
  /** Family / model / stepping reported in leaf 1. */
  family: number;
  model: number;
  stepping: number;
}

/**
 * Default feature set: a Pentium 4-class core (x87, MMX, FXSR, SSE, SSE2 through the fpu/
 * and simd/ units) with PSE/PAE/PGE/PAT/SEP/TSC/MSR/CX8/CMOV/MTRR and NX; no local APIC
 * unless the board has one.
 */
export const DEFAULT_FEATURES: Readonly<CpuFeatures> = {
  fpu: true, mmx: true, fxsr: true, sse: true, sse2: true, apic: false, nx: true, mtrr: true, vme: true, pse36: true,
  family: 6, model: 6, stepping: 3,
};

/** CPUID leaf 1 EDX for a feature set. */
export function cpuidLeaf1Edx(f: CpuFeatures): number {
  let edx = 0;
  if (f.fpu) edx |= 1 << 0;
  if (f.vme) edx |= 1 << 1; // VME (and PVI)
  edx |= 1 << 2; // DE (debug extensions: CR4.DE accepted)
  edx |= 1 << 3; // PSE
  edx |= 1 << 4; // TSC
  edx |= 1 << 5; // MSR
  edx |= 1 << 6; // PAE
  edx |= 1 << 8; // CX8
  if (f.apic) edx |= 1 << 9;
  edx |= 1 << 11; // SEP
  if (f.mtrr) edx |= 1 << 12;
  edx |= 1 << 13; // PGE
  edx |= 1 << 15; // CMOV
  edx |= 1 << 16; // PAT
  if (f.pse36) edx |= 1 << 17; // PSE-36
  if (f.sse2) edx |= 1 << 19; // CLFLUSH (a no-op here; line size reported in leaf 1 EBX)
  if (f.mmx) edx |= 1 << 23;
  if (f.fxsr) edx |= 1 << 24;
  if (f.sse) edx |= 1 << 25;
  if (f.sse2) edx |= 1 << 26;
  return edx | 0;
}

const BRAND = 'Vireo Virtual CPU';

function str4(s: string, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) v |= (s.charCodeAt(i + k) & 0xff) << (k * 8);
  return v | 0;
}

/**
 * Computes CPUID for `leaf` into `out` as [eax, ebx, ecx, edx] (int32). `apicId` goes to
 * leaf 1 EBX[31:24] (SDM Vol. 3A 11.4.6). Topology: every CPU is its own package, as QEMU's
 * `-smp N,sockets=N`: HTT (EDX[28]) clear, EBX[23:16] = 1, and no leaf 4 or 0Bh (the
 * maximum leaf is 2), so the APIC ID is the package ID and matches the MADT.
 */
export function cpuid(f: CpuFeatures, leaf: number, out: Int32Array, apicId = 0): void {
  leaf >>>= 0;
  if (leaf > 2 && leaf < 0x80000000) leaf = 2;
  if (leaf > 0x80000004) leaf = 2;
  out[0] = out[1] = out[2] = out[3] = 0;
  switch (leaf) {
    case 0:
      out[0] = 2;
      out[1] = str4('GenuineIntel', 0); out[3] = str4('GenuineIntel', 4); out[2] = str4('GenuineIntel', 8);
      return;
    case 1:
      out[0] = ((f.family & 0xf) << 8) | ((f.model & 0xf) << 4) | (f.stepping & 0xf);
      out[1] = (apicId << 24) | (1 << 16) | (f.sse2 ? 8 << 8 : 0);
      out[2] = 0;
      out[3] = cpuidLeaf1Edx(f);
      return;
    case 2:
      out[0] = 1; // one iteration, no descriptors
      return;
    case 0x80000000:
      out[0] = 0x80000004 | 0;
      return;
    case 0x80000001:
      out[3] = f.nx ? 1 << 20 : 0;
      return;
    default: {
      const s = BRAND.padEnd(48, '\0');
      const base = (leaf - 0x80000002) * 16;
      for (let i = 0; i < 4; i++) out[i] = str4(s, base + i * 4);
    }
  }
}
