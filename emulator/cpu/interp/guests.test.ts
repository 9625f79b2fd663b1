/**
 * Differential tests: nasm guests run on QEMU TCG and on the interpreter; debugcon output
 * and isa-debug-exit status must match. Skipped (with the reason) when tools are absent.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { GUEST_DIR, assembleFile, runOurs, runQemu, toolsMissing } from './test-support/guests.js';

const missing = toolsMissing();
const guests = readdirSync(GUEST_DIR).filter((f) => f.endsWith('.asm')).sort();

describe.skipIf(missing !== undefined)(`guests vs QEMU${missing ? ` (skipped: ${missing})` : ''}`, () => {
  for (const g of guests) {
    it(g, () => {
      const { image, path } = assembleFile(g);
      const q = runQemu(path);
      const o = runOurs(image);
      const ql = q.debugcon.split('\n'), ol = o.debugcon.split('\n');
      for (let i = 0; i < Math.max(ql.length, ol.length); i++) {
        if (ql[i] !== ol[i]) expect.fail(`${g} line ${i + 1}:\n qemu: ${ql[i]}\n ours: ${ol[i]}\n(qemu output so far:\n${ql.slice(0, i).join('\n')})`);
      }
      expect(o.exitStatus).toBe(q.exitStatus);
    });
  }
});
