/**
 * A CPU-bound microbenchmark of the interpreter: a loop of loads, stores, ALU ops, a call
 * and conditional branches in flat 32-bit protected mode with paging off. Call
 * `measureMips()` from a bench script or a REPL; it builds its own small machine (no
 * devices) and reads `performance.now()` only to report the result.
 */
import type { VmOps } from '../backend.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import { PhysMap } from '../../memory/phys-map.js';
import { InterpCpu } from './cpu.js';
import { CS, DS, ES, FS, GS, SS } from './state.js';

/** The loop (assembled from nasm, org 0x1000, bits 32). */
const LOOP = [
  0x31, 0xf6, 0xb9, 0xff, 0xff, 0xff, 0x7f, 0x8b, 0x86, 0x00, 0x40, 0x00, 0x00, 0x01, 0xc8, 0x35, 0xaa, 0x55, 0x00, 0x00,
  0x89, 0x86, 0x00, 0x40, 0x00, 0x00, 0x83, 0xc6, 0x04, 0x81, 0xe6, 0xfc, 0x0f, 0x00, 0x00, 0xe8, 0x15, 0x00, 0x00, 0x00,
  0x0f, 0xb6, 0x96, 0x01, 0x40, 0x00, 0x00, 0x81, 0xfa, 0x80, 0x00, 0x00, 0x00, 0x72, 0x01, 0x47, 0x49, 0x75, 0xcc, 0xeb,
  0xc3, 0x53, 0xd1, 0xe3, 0x5b, 0xc3,
];

/** Result of `measureMips`. */
export interface MipsResult {
  instructions: number;
  elapsedMs: number;
  /** Millions of guest instructions per second. */
  mips: number;
}

/** Runs the loop for `instructions` guest instructions (default 20 M) and reports MIPS. */
export function measureMips(instructions = 20_000_000): MipsResult {
  const mem = new GuestMemory(1 << 20, 0);
  const physMap = new PhysMap();
  physMap.map(0, 256, 0, true);
  const ops: VmOps = { pioRead: () => 0xff, pioWrite: () => {}, mmioRead: () => 0xffffffff, mmioWrite: () => {} };
  const cpu = new InterpCpu({ mem, physMap, ops, interrupts: { hasInterrupt: () => false, acknowledge: () => 0 } });
  mem.u8.set(LOOP, 0x1000);
  cpu.writeCr0(cpu.cr0 | 1);
  cpu.loadCache(CS, 8, 0xffff, 0x00cf9b00);
  for (const s of [DS, ES, FS, GS, SS]) cpu.loadCache(s, 0x10, 0xffff, 0x00cf9300);
  cpu.eip = 0x1000;
  cpu.r32[4] = 0x80000;
  const t0 = performance.now();
  let left = instructions;
  while (left > 0) {
    const before = cpu.instructionsRetired;
    cpu.run(Math.min(left, 1_000_000));
    left -= cpu.instructionsRetired - before;
  }
  const elapsedMs = performance.now() - t0;
  return { instructions, elapsedMs, mips: instructions / elapsedMs / 1000 };
}
