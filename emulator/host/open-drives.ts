/**
 * Opens the images of a machine's drives (Node side) and assigns their IDE slots. A CD-ROM
 * image must be an ISO 9660 image (checked, so a mislabelled file such as a saved HTML
 * page is refused with a clear message) and is always read-only. If any image fails to
 * open, the ones already opened are closed again and the error names the file.
 */
import type { ImageFormat } from '../storage/block-backend.js';
import { assignIdeSlots, type AttachedDrive, type DriveBus } from '../machine/drives.js';
import { openDisk } from './open-disk.js';
import { lockImage } from './image-lock.js';

/** Write locks held for open drives, released when they close. */
const locks = new WeakMap<object, () => void>();

/** A drive to attach: an image path (or null for an empty CD-ROM drive). */
export interface DriveSpec {
  kind: 'disk' | 'cdrom';
  path: string | null;
  /** Image format; probed for disks when absent (as QEMU does), always 'iso' for CD-ROMs. */
  format?: Exclude<ImageFormat, 'iso'>;
  readOnly?: boolean;
  /** Controller: 'ide' (default), 'virtio' (virtio-blk; disks only) or 'scsi' (virtio-scsi; disks and CD-ROMs). */
  bus?: DriveBus;
}

/** Opens every drive's image; on failure closes what was opened and rethrows. */
export async function openDrives(specs: readonly DriveSpec[]): Promise<AttachedDrive[]> {
  const ideSpecs = specs.filter((s) => (s.bus ?? 'ide') === 'ide');
  const ideSlots = assignIdeSlots(ideSpecs.map((s) => s.kind));
  const out: AttachedDrive[] = [];
  try {
    for (const spec of specs) {
      const bus = spec.bus ?? 'ide';
      if (bus === 'virtio' && spec.kind === 'cdrom') throw new Error(`${spec.path ?? 'CD-ROM'}: a CD-ROM cannot sit on virtio-blk; use IDE`);
      const slot = bus === 'ide' ? ideSlots[ideSpecs.indexOf(spec)]! : { channel: 0 as const, unit: 0 as const };
      if (spec.path === null) {
        if (spec.kind === 'disk') throw new Error('a disk drive needs an image path');
        out.push({ kind: 'cdrom', backend: null, bus, slot });
        continue;
      }
      const writable = spec.kind === 'disk' && !(spec.readOnly ?? false);
      const release = writable ? lockImage(spec.path) : undefined;
      let backend;
      try {
        backend = spec.kind === 'cdrom'
          ? await openDisk(spec.path, { format: 'iso', readOnly: true, validateIso: true })
          : await openDisk(spec.path, { format: spec.format, readOnly: spec.readOnly ?? false });
      } catch (err) {
        release?.();
        throw err;
      }
      if (release) locks.set(backend, release);
      out.push({ kind: spec.kind, backend, bus, slot });
    }
  } catch (err) {
    await closeDrives(out);
    throw err;
  }
  return out;
}

/** Closes every drive's image (flushing writable ones first). */
export async function closeDrives(drives: readonly AttachedDrive[]): Promise<void> {
  await Promise.allSettled(drives.map(async (d) => {
    if (!d.backend) return;
    try {
      if (!d.backend.readOnly) await d.backend.flush();
      await d.backend.close();
    } finally {
      locks.get(d.backend)?.();
    }
  }));
}
