/**
 * Fixtures the nested KVM tests need, built on the host before the nested guest starts
 * (that guest has no network, so it cannot fetch Debian packages, and it runs the
 * interpreter far too slowly): run-nested.sh bundles this file with esbuild and runs it,
 * then hands the guest the host's fixture cache (VIREO_CACHE, read-only over 9p).
 *
 * - the Linux test ISO (test/fixtures/linux-guest.ts) that inner/linux-kvm.test.ts boots, and
 *   the virtio one (test/fixtures/virtio-guest.ts) that inner/virtio-kvm.test.ts boots;
 * - the serial output of the same ISO booted by the interpreter on the host (the reference
 *   the KVM boot is compared with), cached per ISO and commit; VIREO_KVM_REFERENCE=0 skips it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildLinuxTestIso, linuxGuestToolsAvailable } from '../fixtures/linux-guest.js';
import { VIRTIO_GUEST_MODULES, VIRTIO_GUEST_SCRIPT } from '../fixtures/virtio-guest.js';

/** The script of the Linux test ISO that inner/linux-kvm.test.ts boots. */
export const LINUX_KVM_SCRIPT = 'sleep 1; poweroff -f';

/** Where the interpreter's serial output of `iso` at commit `commit` is cached. */
export function interpReferencePath(iso: string, commit: string): string {
  return `${iso}.interp-${commit.slice(0, 12)}.serial.txt`;
}

/** The checkout's commit (the reference is per commit: the device model may change). */
export function checkoutCommit(repo: string): string {
  try {
    return execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Builds (or finds in the cache) every fixture; returns what was built, or why not. */
export function prepareKvmFixtures(repo: string): Record<string, string> {
  const tools = linuxGuestToolsAvailable();
  if (!tools.ok) return { linuxIso: `not built: ${tools.reason}` };
  const iso = buildLinuxTestIso({ script: LINUX_KVM_SCRIPT });
  const out: Record<string, string> = { linuxIso: iso, virtioIso: buildLinuxTestIso({ script: VIRTIO_GUEST_SCRIPT, modules: VIRTIO_GUEST_MODULES }) };
  if (process.env['VIREO_KVM_REFERENCE'] === '0') return out;
  const ref = interpReferencePath(iso, checkoutCommit(repo));
  if (!existsSync(ref)) {
    // The interpreter boots the same ISO with the same options as the nested KVM run.
    const run = spawnSync(process.execPath, [path.join(repo, 'bin', 'vireo.js'), 'run', '--backend', 'interp', '--cdrom', iso,
      '--serial', 'stdio', '--memory', '256M', '--timeout', '1200'], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, VIREO_DEBUG: '' } });
    if (run.status !== 0) return { ...out, interpReference: `not built: the interpreter run ended with status ${run.status}: ${run.stderr.slice(-500)}` };
    writeFileSync(`${ref}.${process.pid}.tmp`, run.stdout, 'latin1');
    renameSync(`${ref}.${process.pid}.tmp`, ref);
  }
  return { ...out, interpReference: ref };
}

// Run as a program (the esbuild bundle run-nested.sh makes, with the repository as argument).
if (process.argv[1]?.endsWith('kvm-fixtures.mjs')) console.log(JSON.stringify(prepareKvmFixtures(path.resolve(process.argv[2] ?? '.'))));
