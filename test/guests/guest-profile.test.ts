/**
 * `vireo run --profile FILE` samples where the guest executes and writes the counts when
 * the run ends; scripts/guest-profile.mjs names them. SeaBIOS (real mode at F000 and its
 * 32-bit code) is the guest.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runVireo, vireoCliUnavailable } from '../support/vireo-cli.js';

const skip = vireoCliUnavailable() || (existsSync('/usr/share/seabios/bios-256k.bin') ? '' : 'seabios is not installed');
const dir = mkdtempSync(path.join(tmpdir(), 'vireo-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(skip !== '')(`vireo run --profile${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('writes where SeaBIOS executed, and the script groups it by symbol', async () => {
    const file = path.join(dir, 'seabios.profile');
    const run = await runVireo(['run', '--exit-on', 'No bootable device', '--timeout', '60', '--profile', file], { timeoutMs: 90_000 });
    expect(run.status).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^# vireo guest profile: (\d+) samples, one per 50000 instructions; samples cs:eip$/);
    const total = Number(/: (\d+) samples/.exec(lines[0]!)![1]);
    const rows = lines.slice(1).map((l) => /^(\d+) ([0-9a-f]{4}):([0-9a-f]{8})$/.exec(l));
    expect(rows.every((m) => m !== null)).toBe(true);
    expect(rows.reduce((n, m) => n + Number(m![1]), 0)).toBe(total);
    expect(total).toBeGreaterThan(20); // SeaBIOS's boot is millions of instructions
    // Most samples first.
    const counts = rows.map((m) => Number(m![1]));
    expect([...counts].sort((a, b) => b - a)).toEqual(counts);

    // Name them: one made-up symbol over the whole first MiB gets every real-mode sample.
    const syms = path.join(dir, 'syms.map');
    writeFileSync(syms, '00000000 T low_memory\n');
    const named = execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'guest-profile.mjs'), file, syms, '--top', '5'], { encoding: 'utf8' });
    expect(named.split('\n')[0]).toBe(`${total} samples`);
    expect(named).toMatch(/%\s+\d+\s+low_memory\n/);
  }, 120_000);

  it('refuses an empty path', async () => {
    const run = await runVireo(['run', '--profile', ''], { timeoutMs: 30_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('--profile: expected a file path');
  }, 60_000);
});
