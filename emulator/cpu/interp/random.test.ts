/**
 * Randomized differential test against QEMU TCG: generated ALU/shift/mul/div/bit/BCD
 * sequences over random inputs; registers and the defined flags must match (the masks of
 * undefined flags are documented in test-support/random-guest.ts). Seeds are fixed; set
 * VIREO_CPU_SEED to try another.
 */
import { describe, expect, it } from 'vitest';
import { assemble, runOurs, runQemu, toolsMissing } from './test-support/guests.js';
import { randomAddressingGuest, randomGuest } from './test-support/random-guest.js';

const missing = toolsMissing();
const seeds = process.env.VIREO_CPU_SEED ? [Number(process.env.VIREO_CPU_SEED)] : [1, 2, 3];

describe.skipIf(missing !== undefined)(`randomized ALU vs QEMU${missing ? ` (skipped: ${missing})` : ''}`, () => {
  for (const seed of seeds) {
    it(`seed ${seed}`, () => {
      const { source, cases } = randomGuest(seed, 400);
      const { image, path } = assemble(source, `random-${seed}`);
      const q = runQemu(path);
      const o = runOurs(image);
      expect(q.exitStatus).toBe(1);
      const ql = q.debugcon.split('\n'), ol = o.debugcon.split('\n');
      for (let i = 0; i < cases.length; i++) {
        if (ql[i] !== ol[i]) {
          expect.fail(`case ${i}: ${cases[i]}\n qemu: ${ql[i]}\n ours: ${ol[i]}`);
        }
      }
      expect(o.exitStatus).toBe(q.exitStatus);
    });
    it(`addressing modes, seed ${seed}`, () => {
      const { source, cases } = randomAddressingGuest(seed, 250);
      const { image, path } = assemble(source, `random-addr-${seed}`);
      const q = runQemu(path);
      const o = runOurs(image);
      expect(q.exitStatus).toBe(1);
      const ql = q.debugcon.split('\n'), ol = o.debugcon.split('\n');
      for (let i = 0; i < cases.length; i++) {
        if (ql[i] !== ol[i]) expect.fail(`case ${i}: ${cases[i]}\n qemu: ${ql[i]}\n ours: ${ol[i]}`);
      }
    });
  }
});
