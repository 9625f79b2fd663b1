/**
 * Differential test of the MMX/SSE/SSE2 unit against QEMU TCG (qemu-system-i386 -cpu max).
 * Inputs come from a fixed seed; QEMU's results are produced at test time and cached in
 * os.tmpdir()/vireo-cache/fpu-diff. Every output is compared bit-exactly, MXCSR included.
 *
 * Exclusions: FXSAVE's FIP/FDP/FOP (instruction addresses differ between the two runs).
 * RCPPS/RSQRTPS are compared exactly: QEMU and we both return correctly rounded values
 * (hardware returns 12-bit approximations).
 * QEMU 7.2 deviations from the SDM that are excluded (our unit tests pin the SDM behaviour):
 * - MXCSR.DE (denormal operand) is never set by QEMU 7.2;
 * - with two NaN operands QEMU 7.2 applies the x87 rule (larger significand, QNaN over SNaN)
 *   instead of the SSE rule (first operand): arithmetic inputs avoid NaN/NaN lanes;
 * - MMX instructions other than loads leave bits 64-79 of the register untouched in QEMU
 *   (the SDM sets them to all ones), so the x87 tag word / FXSAVE exponent of such registers
 *   differ: not compared after MMX arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { runDiff } from '../fpu/test-support/diff-program.js';
import { toolsMissing } from '../fpu/test-support/qemu-oracle.js';
import { buildSseCases } from '../fpu/test-support/sse-cases.js';

const missing = toolsMissing();

describe.skipIf(missing !== undefined)('MMX/SSE/SSE2 vs QEMU (differential)', () => {
  it('matches QEMU bit-for-bit', () => {
    const { mismatches, compared } = runDiff(buildSseCases());
    if (process.env.FPU_DIFF_DUMP) console.log(`compared ${compared}\n${mismatches.join('\n')}`);
    expect(compared).toBeGreaterThan(1000);
    expect(mismatches.slice(0, 40)).toEqual([]);
  });
});
