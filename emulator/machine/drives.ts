/**
 * Drives attached to a machine and where they sit, following QEMU's conventions for the
 * pc machine's IDE controller: disks take primary master, primary slave, then secondary
 * slave (-hda, -hdb, -hdd); a CD-ROM takes secondary master first (-cdrom = ide1-cd0).
 * Also the OpenFirmware device paths QEMU writes to the `bootorder` fw_cfg file, which is
 * how SeaBIOS learns the boot order.
 */
import type { BlockBackend } from '../storage/block-backend.js';

/** An IDE position: channel 0 (primary) or 1 (secondary), unit 0 (master) or 1 (slave). */
export interface IdeSlot {
  readonly channel: 0 | 1;
  readonly unit: 0 | 1;
}

/** A drive as the machine receives it: an opened backend (or none: an empty CD-ROM drive). */
export interface AttachedDrive {
  readonly kind: 'disk' | 'cdrom';
  readonly backend: BlockBackend | null;
  /** The controller: IDE (the default) or virtio-blk (disks only). */
  readonly bus: 'ide' | 'virtio';
  /** The IDE position (meaningful for IDE drives only). */
  readonly slot: IdeSlot;
}

const DISK_ORDER: readonly IdeSlot[] = [
  { channel: 0, unit: 0 }, { channel: 0, unit: 1 }, { channel: 1, unit: 1 }, { channel: 1, unit: 0 },
];
const CDROM_ORDER: readonly IdeSlot[] = [
  { channel: 1, unit: 0 }, { channel: 1, unit: 1 }, { channel: 0, unit: 1 }, { channel: 0, unit: 0 },
];

/**
 * Assigns IDE slots to drives in the order given. CD-ROMs are placed first (so `-cdrom`
 * gets the secondary master even when listed after disks). Throws when more than four.
 */
export function assignIdeSlots(kinds: ReadonlyArray<'disk' | 'cdrom'>): IdeSlot[] {
  if (kinds.length > 4) throw new Error(`the IDE controller has 4 positions; ${kinds.length} drives were given`);
  const taken = new Set<string>();
  const key = (s: IdeSlot): string => `${s.channel}.${s.unit}`;
  const out: IdeSlot[] = new Array<IdeSlot>(kinds.length);
  const place = (i: number, order: readonly IdeSlot[]): void => {
    const slot = order.find((s) => !taken.has(key(s)))!;
    taken.add(key(slot));
    out[i] = slot;
  };
  kinds.forEach((k, i) => { if (k === 'cdrom') place(i, CDROM_ORDER); });
  kinds.forEach((k, i) => { if (k === 'disk') place(i, DISK_ORDER); });
  return out;
}

/** QEMU's OpenFirmware path of an IDE drive on the pc machine (PIIX3 IDE at 01.1). */
export function ideBootPath(slot: IdeSlot): string {
  return `/pci@i0cf8/ide@1,1/drive@${slot.channel}/disk@${slot.unit}`;
}

/**
 * The `bootorder` entries for a boot preference: drives of the preferred kind first, then
 * the others, each kind in slot order.
 */
export function bootOrderPaths(drives: ReadonlyArray<{ kind: 'disk' | 'cdrom'; slot: IdeSlot; bus?: 'ide' | 'virtio' }>, first: 'cdrom' | 'disk'): string[] {
  const ide = drives.filter((d) => (d.bus ?? 'ide') === 'ide');
  const rank = (d: { kind: 'disk' | 'cdrom'; slot: IdeSlot }): number =>
    (d.kind === first ? 0 : 8) + d.slot.channel * 2 + d.slot.unit;
  return [...ide].sort((a, b) => rank(a) - rank(b)).map((d) => ideBootPath(d.slot));
}
