/**
 * Milestone: Debian's SeaBIOS (bios-256k.bin) runs its 32-bit init on a bare board and
 * prints its banner on debugcon 0x402. On a board without a PCI host bridge SeaBIOS stops
 * after "Unable to unlock ram"; QEMU's `-M isapc` (also bridge-less) is the reference.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuExit } from '../backend.js';
import { TestBoard } from './test-support/board.js';

const BIOS = '/usr/share/seabios/bios-256k.bin';
const haveBios = existsSync(BIOS);

describe.skipIf(!haveBios)(`SeaBIOS on a bare board${haveBios ? '' : ' (skipped: seabios package not installed)'}`, () => {
  it('prints the banner on port 0x402 and behaves like QEMU -M isapc', () => {
    const image = new Uint8Array(readFileSync(BIOS));
    const b = new TestBoard({ image, ramBytes: 64 << 20, lowWindowBytes: 128 * 1024, lowWindowWritable: true });
    const r = b.run(50_000_000);
    expect(r.exit).not.toBe(CpuExit.Error);
    expect(r.debug402).toMatch(/^SeaBIOS \(version [^)]+\)\n/);
    expect(r.debug402).toContain('Unable to unlock ram - bridge not found');
    const q = spawnSync('qemu-system-i386', ['--version'], { stdio: 'ignore' });
    if (q.status === 0) {
      const dir = mkdtempSync(join(tmpdir(), 'vireo-seabios-'));
      try {
        const out = join(dir, 'out.txt');
        spawnSync('qemu-system-i386', ['-M', 'isapc', '-accel', 'tcg', '-nographic', '-bios', BIOS,
          '-chardev', `file,id=d,path=${out}`, '-device', 'isa-debugcon,iobase=0x402,chardev=d', '-display', 'none',
          '-no-reboot', '-serial', 'none', '-monitor', 'none', '-net', 'none', '-m', '64'], { timeout: 20_000, stdio: 'ignore' });
        expect(r.debug402).toBe(readFileSync(out, 'latin1'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
