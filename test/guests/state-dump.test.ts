/**
 * `vireo run` with VIREO_DEBUG set dumps the machine's state on SIGUSR2 (for a guest that
 * seems stuck): run state, virtual time, CPU registers, every device's state.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, vireoCliUnavailable } from '../support/vireo-cli.js';

const skip = vireoCliUnavailable() || (existsSync('/usr/share/seabios/bios-256k.bin') ? '' : 'seabios is not installed');

describe.skipIf(skip !== '')(`state dump on SIGUSR2${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('prints the run state, the CPU registers and the interrupt controllers, and keeps running', async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'vireo.js'), 'run', '--timeout', '30'],
      { cwd: REPO_ROOT, env: { ...process.env, VIREO_DEBUG: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise((r) => setTimeout(r, 3000));
    child.kill('SIGUSR2');
    await expect.poll(() => stderr, { timeout: 10_000 }).toContain('i8254');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/vireo: state dump\nrun state running, \d+ instructions, virtual [\d.]+ ms/);
    expect(stderr).toMatch(/cpu interp: eip=[0-9a-f]+ cs=[0-9a-f]+ eflags=/);
    expect(stderr).toMatch(/i8259: \{/);
    expect(stderr).toMatch(/ioapic: \{/);
  }, 60_000);
});
