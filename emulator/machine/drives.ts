/**
 * Drives attached to a machine and where they sit, following QEMU's conventions for the
 * pc machine's IDE controller: disks take primary master, primary slave, then secondary
 * slave (-hda, -hdb, -hdd); a CD-ROM takes secondary master first (-cdrom = ide1-cd0).
 * Also the OpenFirmware device paths QEMU writes to the `bootorder` fw_cfg file, which is
 * how SeaBIOS learns the boot order.
 */
import type { BlockBackend } from '../storage/block-backend.js';
import { VIRTIO_SCSI_SLOT } from '../board/pc.js';

/** Where a drive is attached: the PIIX3 IDE controller, virtio-blk, or the virtio-scsi HBA. */
export type DriveBus = 'ide' | 'virtio' | 'scsi';

/** An IDE position: channel 0 (primary) or 1 (secondary), unit 0 (master) or 1 (slave). */
export interface IdeSlot {
  readonly channel: 0 | 1;
  readonly unit: 0 | 1;
}

/** A drive as the machine receives it: an opened backend (or none: an empty CD-ROM drive). */
export interface AttachedDrive {
  readonly kind: 'disk' | 'cdrom';
  readonly backend: BlockBackend | null;
  /** The controller: IDE (the default), virtio-blk (disks only) or virtio-scsi. */
  readonly bus: DriveBus;
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
 * QEMU's OpenFirmware path of a virtio-scsi logical unit (SeaBIOS matches
 * `<hba>/*@0/*@<target>,<lun>`, boot.c bootprio_find_scsi_device).
 */
export function scsiBootPath(target: number, lun = 0): string {
  return `/pci@i0cf8/scsi@${VIRTIO_SCSI_SLOT.toString(16)}/channel@0/disk@${target.toString(16)},${lun.toString(16)}`;
}

/**
 * The virtio-scsi target of each drive on that bus (targets 0, 1, ... in the order given;
 * LUN 0 each), like QEMU's `-device scsi-hd` without an explicit `scsi-id`.
 */
export function scsiTargets(drives: ReadonlyArray<{ bus?: DriveBus }>): Map<number, number> {
  const out = new Map<number, number>();
  drives.forEach((d, i) => { if (d.bus === 'scsi') out.set(i, out.size); });
  return out;
}

/**
 * The `bootorder` entries for a boot preference: drives of the preferred kind first, then
 * the others; within a kind IDE drives in slot order, then virtio-scsi units by target.
 * (virtio-blk disks get no entry; SeaBIOS tries them after the listed devices.)
 */
export function bootOrderPaths(drives: ReadonlyArray<{ kind: 'disk' | 'cdrom'; slot: IdeSlot; bus?: DriveBus }>, first: 'cdrom' | 'disk'): string[] {
  const targets = scsiTargets(drives);
  const entries: Array<{ rank: number; path: string }> = [];
  drives.forEach((d, i) => {
    const kindRank = d.kind === first ? 0 : 1000;
    const bus = d.bus ?? 'ide';
    if (bus === 'ide') entries.push({ rank: kindRank + d.slot.channel * 2 + d.slot.unit, path: ideBootPath(d.slot) });
    else if (bus === 'scsi') entries.push({ rank: kindRank + 10 + targets.get(i)!, path: scsiBootPath(targets.get(i)!) });
  });
  return entries.sort((a, b) => a.rank - b.rank).map((e) => e.path);
}
