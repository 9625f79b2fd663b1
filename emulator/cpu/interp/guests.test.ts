/**
 * Differential tests: nasm guests run on QEMU TCG and on the interpreter; debugcon output
 * and isa-debug-exit status must match. Skipped (with the reason) when tools are absent.
 *
 * A guest whose source has the line `; reference: expected` tests behaviour QEMU TCG does
 * not implement (e.g. data segment limit checks, #AC): its output is compared with the
 * checked-in `NAME.expected` instead (written from the SDM, and for the real-mode part of
 * seglimit.asm also seen on KVM), and QEMU is not run for it.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_DIR, assembleFile, runOurs, runQemu, toolsMissing } from './test-support/guests.js';

const missing = toolsMissing();
const guests = readdirSync(GUEST_DIR).filter((f) => f.endsWith('.asm')).sort();

/** The reference output of `g`: QEMU TCG's, or the checked-in expectation. */
function reference(g: string, path: string): { name: string; debugcon: string; exitStatus: number | undefined } {
  const source = readFileSync(join(GUEST_DIR, g), 'utf8');
  if (/^; reference: expected\b/m.test(source)) {
    const file = join(GUEST_DIR, g.replace(/\.asm$/, '.expected'));
    if (!existsSync(file)) throw new Error(`${g} says 'reference: expected' but ${file} is missing`);
    return { name: 'expected', debugcon: readFileSync(file, 'latin1'), exitStatus: 1 };
  }
  return { name: 'qemu', ...runQemu(path) };
}

describe.skipIf(missing !== undefined)(`guests vs QEMU${missing ? ` (skipped: ${missing})` : ''}`, () => {
  for (const g of guests) {
    it(g, () => {
      const { image, path } = assembleFile(g);
      const q = reference(g, path);
      const o = runOurs(image);
      const ql = q.debugcon.split('\n'), ol = o.debugcon.split('\n');
      for (let i = 0; i < Math.max(ql.length, ol.length); i++) {
        if (ql[i] !== ol[i]) expect.fail(`${g} line ${i + 1}:\n ${q.name}: ${ql[i]}\n ours: ${ol[i]}\n(${q.name} output so far:\n${ql.slice(0, i).join('\n')})`);
      }
      expect(o.exitStatus).toBe(q.exitStatus);
    });
  }
});
