/**
 * Runs the built `vireo` command (bin/vireo.js -> dist/) as a child process for tests,
 * capturing stdout, stderr and the exit status, with a hard timeout.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
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
export function runVireo(args: string[], opts: { timeoutMs: number; input?: string; cwd?: string; env?: Record<string, string>; teeTo?: string }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'vireo.js'), ...args], {
      cwd: opts.cwd ?? REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    });
    let stdout = '';
    let stderr = '';
    // `teeTo`: stdout also goes to this file as it arrives (long guest runs, for diagnosis).
    if (opts.teeTo) { mkdirSync(path.dirname(opts.teeTo), { recursive: true }); writeFileSync(opts.teeTo, ''); }
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('latin1'); if (opts.teeTo) appendFileSync(opts.teeTo, d); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => { clearTimeout(t); resolve({ stdout, stderr, status }); });
    if (opts.input !== undefined) child.stdin.write(opts.input);
    child.stdin.end();
  });
}

/** A running `vireo` process whose output can be awaited and whose stdin can be typed into. */
export interface InteractiveVireo {
  /** Everything printed on stdout so far. */
  output(): string;
  /** Resolves once stdout contains `text` (after `from`), or rejects after `timeoutMs`. */
  waitFor(text: string | RegExp, timeoutMs: number, from?: number): Promise<number>;
  /** Writes to stdin. */
  type(text: string): void;
  /** Resolves with the exit status (kills the process after `timeoutMs`). */
  exit(timeoutMs: number): Promise<{ status: number | null; stderr: string }>;
}

/** Starts `vireo ARGS` with piped stdio for a conversation with the guest. */
export function startVireo(args: string[]): InteractiveVireo {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'vireo.js'), ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString('latin1'); for (const w of waiters) w(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => { for (const w of waiters) w(); resolve(code); }));
  return {
    output: () => stdout,
    waitFor: (text, timeoutMs, from = 0) => new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hay = stdout.slice(from);
        const at = typeof text === 'string' ? hay.indexOf(text) : hay.search(text);
        if (at >= 0) { resolve(from + at); return true; }
        if (child.exitCode !== null) { reject(new Error(`vireo exited (${child.exitCode}) before printing ${String(text)}; stderr: ${stderr}`)); return true; }
        return false;
      };
      if (check()) return;
      const t = setTimeout(() => { waiters.delete(w); reject(new Error(`timed out waiting for ${String(text)}; last output: ${stdout.slice(-400)}`)); }, timeoutMs);
      const w = (): void => { if (check()) { clearTimeout(t); waiters.delete(w); } };
      waiters.add(w);
    }),
    type: (text) => { child.stdin.write(text); },
    exit: async (timeoutMs) => {
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const status = await closed;
      clearTimeout(t);
      return { status, stderr };
    },
  };
}
