/**
 * Image locking, so two VMs never write one disk image (what QEMU does with OFD locks):
 * a writable open takes `<image>.lock`, created exclusively, holding the owner's PID.
 * A lock whose process is gone (a killed run) is stale and taken over; a live owner means
 * "in use"; the same image twice in one process is refused too. Read-only opens (ISOs,
 * backing files) take no lock.
 */
import { closeSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs';

/** Images this process holds (real paths): catches the same image attached twice. */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the write lock of `imagePath`; returns its release. Throws naming the image and the holder. */
export function lockImage(imagePath: string): () => void {
  const real = realpathSync(imagePath);
  if (held.has(real)) throw new Error(`${imagePath}: the image is attached twice; a disk image can be used by one drive only`);
  const lockPath = `${real}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`${imagePath}: cannot create the lock file ${lockPath}: ${(err as Error).message}`);
      }
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
      if (Number.isInteger(owner) && owner > 0 && alive(owner) && owner !== process.pid) {
        throw new Error(`${imagePath}: the image is in use by another Vireo process (pid ${owner}); stop that VM first`);
      }
      unlinkSync(lockPath); // stale: its owner is gone
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    held.add(real);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.delete(real);
      try { unlinkSync(lockPath); } catch { /* already gone */ }
    };
  }
  throw new Error(`${imagePath}: could not take the image lock ${lockPath}`);
}
