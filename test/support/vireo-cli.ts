/**
 * Runs the built `vireo` command (bin/vireo.js -> dist/) as a child process for tests,
 * capturing stdout, stderr and the exit status, with a hard timeout.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Repository root. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Why the CLI cannot run here, or '' when it can. */
export function vireoCliUnavailable(): string {
  return existsSync(path.join(REPO_ROOT, 'dist', 'main', 'cli', 'vireo.js')) ? '' : 'dist/ is not built (npm test builds it; run npm run build)';
}

/** Result of one CLI run. */
export interface CliRun {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs `vireo ARGS`; resolves when it exits. `input` is written to stdin. */
export function runVireo(args: string[], opts: { timeoutMs: number; input?: string; cwd?: string }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'vireo.js'), ...args], {
      cwd: opts.cwd ?? REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('latin1'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => { clearTimeout(t); resolve({ stdout, stderr, status }); });
    if (opts.input !== undefined) child.stdin.write(opts.input);
    child.stdin.end();
  });
}
