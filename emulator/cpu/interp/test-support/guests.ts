/**
 * Test-guest tooling: assembles nasm sources into flat BIOS images (cached by content hash
 * under os.tmpdir()/vireo-cache/cpu-guests) and runs them on QEMU TCG and on the
 * interpreter's TestBoard, returning what each wrote to debugcon 0xe9 and its
 * isa-debug-exit status. Tools are optional: `toolsMissing()` names what is absent so tests
 * can skip with a visible reason.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestBoard, type BoardResult } from './board.js';

/** Folder holding the .asm guests. */
export const GUEST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-guests');
const CACHE = join(tmpdir(), 'vireo-cache', 'cpu-guests');

function has(cmd: string, arg: string): boolean {
  const r = spawnSync(cmd, [arg], { stdio: 'ignore' });
  return r.status === 0;
}

/** Returns a skip reason when nasm or qemu-system-i386 is missing, else undefined. */
export function toolsMissing(): string | undefined {
  const missing: string[] = [];
  if (!has('nasm', '-v')) missing.push('nasm');
  if (!has('qemu-system-i386', '--version')) missing.push('qemu-system-i386');
  return missing.length ? `missing ${missing.join(', ')} (apt-get install nasm qemu-system-x86)` : undefined;
}

/** Assembles `source` (text; %include resolves in GUEST_DIR) into a flat binary; cached. */
export function assemble(source: string, name = 'guest'): { image: Uint8Array; path: string } {
  mkdirSync(CACHE, { recursive: true });
  const lib = existsSync(join(GUEST_DIR, 'lib.inc')) ? readFileSync(join(GUEST_DIR, 'lib.inc'), 'utf8') : '';
  const hash = createHash('sha256').update(source).update(lib).digest('hex').slice(0, 16);
  const out = join(CACHE, `${name}-${hash}.bin`);
  if (!existsSync(out)) {
    const src = join(CACHE, `${name}-${hash}.asm`);
    writeFileSync(src, source);
    const r = spawnSync('nasm', ['-f', 'bin', '-I', GUEST_DIR + '/', '-o', out + '.tmp', src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nasm failed for ${name}:\n${r.stderr}`);
    writeFileSync(out, readFileSync(out + '.tmp'));
    rmSync(out + '.tmp');
  }
  return { image: new Uint8Array(readFileSync(out)), path: out };
}

/** Assembles test-guests/`file`. */
export function assembleFile(file: string): { image: Uint8Array; path: string } {
  return assemble(readFileSync(join(GUEST_DIR, file), 'utf8'), file.replace(/\.asm$/, ''));
}

/** Output of one run. */
export interface GuestRun {
  debugcon: string;
  exitStatus: number | undefined;
}

/** Runs a BIOS image on QEMU TCG; results are cached by image hash. */
export function runQemu(imagePath: string, timeoutMs = 20_000): GuestRun {
  const out = imagePath.replace(/\.bin$/, '.qemu.txt');
  const statusFile = out + '.status';
  if (existsSync(out) && existsSync(statusFile)) {
    const st = readFileSync(statusFile, 'utf8');
    return { debugcon: readFileSync(out, 'latin1'), exitStatus: st === '' ? undefined : Number(st) };
  }
  rmSync(out, { force: true });
  const r = spawnSync('qemu-system-i386', [
    '-accel', 'tcg', '-nographic', '-bios', imagePath, '-debugcon', `file:${out}`,
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-display', 'none', '-no-reboot', '-m', '64', '-cpu', 'qemu32,+nx',
    '-serial', 'none', '-monitor', 'none', '-net', 'none',
  ], { timeout: timeoutMs, stdio: 'ignore' });
  const text = existsSync(out) ? readFileSync(out, 'latin1') : '';
  const status = r.status ?? undefined;
  writeFileSync(statusFile, status === undefined ? '' : String(status));
  return { debugcon: text, exitStatus: status };
}

/** Runs a BIOS image on the interpreter. */
export function runOurs(image: Uint8Array, maxInstructions = 20_000_000): BoardResult & { board: TestBoard } {
  const board = new TestBoard({ image, ramBytes: 16 * 1024 * 1024, lowWindowBytes: 64 * 1024 });
  const r = board.run(maxInstructions);
  return { ...r, board };
}
