/**
 * Test helpers for the storage tests: qemu-img as the oracle (QEMU's own checker and
 * comparer), temporary folders under os.tmpdir(), deterministic byte patterns.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether qemu-img is on PATH (tests skip with a visible reason when not). */
export const HAVE_QEMU_IMG = spawnSync('qemu-img', ['--version']).status === 0;

/** Result of running a command. */
export interface RunResult { status: number; stdout: string; stderr: string }

/** Runs qemu-img with `args`. */
export function qemuImg(...args: string[]): RunResult {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs qemu-img and throws with its output unless it exits 0. */
export function qemuImgOk(...args: string[]): string {
  const r = qemuImg(...args);
  if (r.status !== 0) throw new Error(`qemu-img ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** What `qemu-img check --output=json` reports. */
export interface CheckReport {
  status: number;
  corruptions: number;
  leaks: number;
  checkErrors: number;
  raw: string;
}

/** Runs `qemu-img check` on a qcow2 image. Status 0 clean, 3 leaks only, 2 corrupt. */
export function qemuCheck(path: string): CheckReport {
  const r = qemuImg('check', '--output=json', '-f', 'qcow2', path);
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // qemu-img could not even open the image: report as corrupt below.
  }
  const num = (k: string): number => (typeof parsed[k] === 'number' ? parsed[k] : 0);
  return {
    status: r.status,
    corruptions: num('corruptions'),
    leaks: num('leaks'),
    checkErrors: num('check-errors') + (r.stdout.trim() === '' ? 1 : 0),
    raw: r.stdout + r.stderr,
  };
}

/** Runs `qemu-img compare` of two images; true when their guest contents are equal. */
export function qemuCompare(a: string, b: string): RunResult {
  return qemuImg('compare', a, b);
}

/** Makes a fresh temporary folder; call the returned function to remove it. */
export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `vireo-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (xorshift32) for `seed`. */
export function pattern(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** SHA-256 of a file's bytes, hex. */
export function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
