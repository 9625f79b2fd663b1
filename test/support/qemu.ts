/**
 * Runs QEMU (the oracle) for tests: `qemu-system-i386 -accel tcg`, headless, serial on a
 * pipe, with a hard timeout. Only for comparisons; Vireo itself never needs QEMU.
 */
import { spawn, spawnSync } from 'node:child_process';

/** True if qemu-system-i386 is installed. */
export function qemuAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v qemu-system-i386'], { stdio: 'ignore' }).status === 0;
}

/** Result of a QEMU run. */
export interface QemuRun {
  serial: string;
  exitCode: number | null;
  timedOut: boolean;
}

/** Boots `args` under QEMU TCG with the serial console captured; resolves when QEMU exits or times out. */
export function runQemu(args: string[], timeoutMs: number): Promise<QemuRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-system-i386', ['-accel', 'tcg', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let serial = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => { serial += d.toString('latin1'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      if (code !== 0 && !timedOut && serial === '') reject(new Error(`qemu failed (${code}): ${stderr.trim()}`));
      else resolve({ serial, exitCode: code, timedOut });
    });
  });
}
