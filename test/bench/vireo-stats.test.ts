/**
 * `npm run bench` reads Vireo's instruction rate from the `VIREO_STATS=1` line the CLI
 * prints when a run ends; this checks the line is there and the bench's parser reads it.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runVireo, vireoCliUnavailable } from '../support/vireo-cli.js';

const skip = vireoCliUnavailable() || (existsSync('/usr/share/seabios/bios-256k.bin') ? '' : 'seabios is not installed');
const benchRun = `${REPO_ROOT}/bench/run.mjs`;

describe.skipIf(skip !== '')(`VIREO_STATS line${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('is printed at the end of a run and parsed by the bench into MIPS', async () => {
    const { parseVireoStats } = (await import(benchRun)) as { parseVireoStats: (stderr: string) => number | null };
    const run = await runVireo(['run', '--exit-on', 'No bootable device', '--debugcon', 'none', '--timeout', '60'],
      { timeoutMs: 90_000, env: { VIREO_STATS: '1' } });
    const line = run.stderr.split('\n').find((l) => l.startsWith('vireo stats: '));
    expect(line).toMatch(/^vireo stats: instructions=\d+ wall_ms=\d+ mips=\d+\.\d\d$/);
    const instructions = Number(/instructions=(\d+)/.exec(line!)![1]);
    expect(instructions).toBeGreaterThan(1_000_000); // SeaBIOS's boot alone runs millions
    const mips = parseVireoStats(run.stderr);
    expect(mips).not.toBeNull();
    expect(mips!).toBeCloseTo(Number(/mips=([\d.]+)/.exec(line!)![1]), 1);
  }, 120_000);

  it('is absent without VIREO_STATS', async () => {
    const run = await runVireo(['run', '--exit-on', 'No bootable device', '--timeout', '60'], { timeoutMs: 90_000 });
    expect(run.stderr).not.toContain('vireo stats:');
  }, 120_000);
});
