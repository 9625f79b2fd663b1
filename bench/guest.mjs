/**
 * Builds the benchmark's Linux guest ISO, the same way as test/fixtures/linux-guest.ts
 * (Debian's i386 686 kernel + busybox-static in an initramfs, isolinux, console=ttyS0),
 * but with no kernel modules and a fixed init: it prints the boot marker, runs a
 * deterministic CPU workload timed inside the guest with /proc/uptime, prints the result
 * and the done marker, then powers off. The ISO is cached outside the repository in
 * `$VIREO_CACHE` or `~/.cache/vireo` under its own cache key ("bench-iso-v1").
 *
 * (test/ is not compiled to dist/, so this is a small JS port of the fixture builder.)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Printed by the guest's init once userland runs. */
export const BOOT_MARKER = 'VIREO-BOOT-OK';
/** Printed by the guest after the workload, right before it powers off. */
export const DONE_MARKER = 'VIREO-BENCH-DONE';
/** Line with the guest-timed workload: `VIREO-BENCH-WORK ms=<n> sum=<sha256 prefix>`. */
export const WORK_PREFIX = 'VIREO-BENCH-WORK';
/** Parses the workload line (the checksum lets the harness check that all guests agree). */
export const WORK_RE = /VIREO-BENCH-WORK ms=(\d+) sum=([0-9a-f]+)/;

function cacheDir(...sub) {
  const base = process.env['VIREO_CACHE'] ?? path.join(os.homedir(), '.cache', 'vireo');
  const dir = path.join(base, ...sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function cacheKey(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

function have(tool) {
  try { execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }); return true; } catch { return false; }
}

/** Undefined when the ISO can be built (or is cached), else why not. */
export function guestToolsMissing() {
  for (const tool of ['apt-get', 'apt-cache', 'dpkg-deb', 'xorriso', 'cpio', 'gzip']) {
    if (!have(tool)) return `${tool} is not installed (run scripts/setup.sh)`;
  }
  if (!existsSync('/usr/lib/ISOLINUX/isolinux.bin')) return 'isolinux is not installed (run scripts/setup.sh)';
  if (!existsSync('/usr/lib/syslinux/modules/bios/ldlinux.c32')) return 'syslinux-common is not installed (run scripts/setup.sh)';
  return undefined;
}

function resolveDependency(metapackage, prefix) {
  const out = execFileSync('apt-cache', ['depends', metapackage], { encoding: 'utf8' });
  const m = out.split('\n').map((l) => l.trim()).find((l) => l.startsWith(`Depends: ${prefix}`));
  if (!m) throw new Error(`cannot resolve ${metapackage} (run scripts/setup.sh, which enables i386 and updates apt)`);
  const name = m.slice('Depends: '.length).replace(/:i386$/, '');
  return metapackage.endsWith(':i386') ? `${name}:i386` : name;
}

/** Same cache layout as test/fixtures/debian-packages.ts, so the test fixtures' downloads are shared. */
function unpackedPackage(pkg) {
  const safe = pkg.replace(/[^a-zA-Z0-9.+-]/g, '_');
  const root = cacheDir('debs', safe);
  const done = path.join(root, '.unpacked');
  if (existsSync(done)) return path.join(root, 'root');
  const dl = path.join(root, 'dl');
  rmSync(dl, { recursive: true, force: true });
  mkdirSync(dl, { recursive: true });
  try {
    execFileSync('apt-get', ['download', pkg], { cwd: dl, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`apt-get download ${pkg} failed (is the i386 architecture enabled? run scripts/setup.sh): ${String(err)}`);
  }
  const deb = readdirSync(dl).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
  const tmpRoot = path.join(root, 'root.tmp');
  rmSync(tmpRoot, { recursive: true, force: true });
  execFileSync('dpkg-deb', ['-x', path.join(dl, deb), tmpRoot]);
  rmSync(path.join(root, 'root'), { recursive: true, force: true });
  renameSync(tmpRoot, path.join(root, 'root'));
  rmSync(dl, { recursive: true, force: true });
  writeFileSync(done, '');
  return path.join(root, 'root');
}

/** The guest's /init. The workload hashes `workMiB` MiB of zeros with busybox sha256sum. */
export function initScript(workMiB) {
  return `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo ${BOOT_MARKER}
t0=$(cut -d' ' -f1 /proc/uptime)
sum=$(dd if=/dev/zero bs=1048576 count=${workMiB} 2>/dev/null | sha256sum | cut -c1-16)
t1=$(cut -d' ' -f1 /proc/uptime)
ms=$(echo "$t0 $t1" | awk '{ printf "%d", ($2 - $1) * 1000 + 0.5 }')
echo "${WORK_PREFIX} ms=$ms sum=$sum"
echo ${DONE_MARKER}
poweroff -f
`;
}

/** Builds (or reuses from the cache) the benchmark ISO; returns its path. */
export function buildBenchIso({ workMiB = 8, cmdline = '' } = {}) {
  const missing = guestToolsMissing();
  const kernelPkg = resolveDependency('linux-image-686:i386', 'linux-image-');
  const busyboxPkg = 'busybox-static:i386';
  const init = initScript(workMiB);
  const key = cacheKey('bench-iso-v1', kernelPkg, busyboxPkg, init, cmdline);
  const out = path.join(cacheDir('iso'), `bench-linux-${key}.iso`);
  if (existsSync(out)) return out;
  if (missing) throw new Error(missing);

  const kernelRoot = unpackedPackage(kernelPkg);
  const busyboxRoot = unpackedPackage(busyboxPkg);
  const work = path.join(cacheDir('build'), `bench-${key}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const initrd = path.join(work, 'initrd');
  const iso = path.join(work, 'iso');
  for (const d of ['bin', 'etc']) mkdirSync(path.join(initrd, d), { recursive: true });
  copyFileSync(path.join(busyboxRoot, 'bin', 'busybox'), path.join(initrd, 'bin', 'busybox'));
  chmodSync(path.join(initrd, 'bin', 'busybox'), 0o755);
  writeFileSync(path.join(initrd, 'init'), init, { mode: 0o755 });

  mkdirSync(path.join(iso, 'isolinux'), { recursive: true });
  mkdirSync(path.join(iso, 'boot'), { recursive: true });
  copyFileSync('/usr/lib/ISOLINUX/isolinux.bin', path.join(iso, 'isolinux', 'isolinux.bin'));
  copyFileSync('/usr/lib/syslinux/modules/bios/ldlinux.c32', path.join(iso, 'isolinux', 'ldlinux.c32'));
  const vmlinuz = readdirSync(path.join(kernelRoot, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`no vmlinuz in ${kernelPkg}`);
  copyFileSync(path.join(kernelRoot, 'boot', vmlinuz), path.join(iso, 'boot', 'vmlinuz'));
  execFileSync('sh', ['-c', 'find . | cpio -o -H newc --quiet | gzip -1 > ../iso/boot/initrd.gz'], { cwd: initrd });
  writeFileSync(path.join(iso, 'isolinux', 'isolinux.cfg'), [
    'SERIAL 0 115200',
    'DEFAULT linux',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL linux',
    '  KERNEL /boot/vmlinuz',
    `  APPEND initrd=/boot/initrd.gz console=ttyS0 ${cmdline}`.trimEnd(),
    '',
  ].join('\n'));
  const tmpIso = `${out}.${process.pid}.tmp`;
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', tmpIso, '-V', 'VIREO_BENCH',
    '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', iso],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  if (statSync(tmpIso).size === 0) throw new Error('xorriso produced an empty ISO');
  renameSync(tmpIso, out);
  rmSync(work, { recursive: true, force: true });
  return out;
}
