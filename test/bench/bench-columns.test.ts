/**
 * The bench's emulator columns: Vireo as it ships (block translator on) and Vireo with
 * VIREO_JIT=0, the fair peer of v86 without its JIT, with the ratio rows that compare them.
 */
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/vireo-cli.js';

interface BenchLib {
  EMULATORS: string[];
  isVireo: (emu: string) => boolean;
  vireoEnv: (emu: string) => Record<string, string>;
  ratioRows: (emus: string[]) => Array<{ label: string; num: string; den: string }>;
  parseOnly: (text: string | undefined, known: string[]) => string[];
}

describe('bench emulator columns', () => {
  it('runs Vireo twice: as shipped and with the translator off', async () => {
    const lib = (await import(`${REPO_ROOT}/bench/lib.mjs`)) as BenchLib;
    expect(lib.EMULATORS).toEqual(['vireo', 'vireo-interp', 'qemu', 'v86-jit', 'v86-nojit']);
    expect(lib.isVireo('vireo-interp')).toBe(true);
    expect(lib.isVireo('v86-nojit')).toBe(false);
    expect(lib.vireoEnv('vireo-interp')).toEqual({ VIREO_JIT: '0' });
    expect(lib.vireoEnv('vireo')).toEqual({});
    const rows = lib.ratioRows(lib.EMULATORS).map((r) => `${r.num}/${r.den}`);
    expect(rows).toEqual(['vireo/vireo-interp', 'vireo/qemu', 'vireo/v86-jit', 'vireo/v86-nojit', 'vireo-interp/v86-nojit']);
    expect(lib.parseOnly('vireo-interp,v86', lib.EMULATORS)).toEqual(['vireo-interp', 'v86-jit', 'v86-nojit']);
    expect(lib.ratioRows(['vireo-interp', 'v86-nojit']).map((r) => r.label)).toEqual(['vireo interp only/v86 no JIT']);
  });
});
