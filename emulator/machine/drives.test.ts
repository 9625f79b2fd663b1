import { describe, expect, it } from 'vitest';
import { assignIdeSlots, bootOrderPaths, ideBootPath, scsiBootPath, scsiTargets } from './drives.js';

describe('IDE slot assignment (QEMU conventions)', () => {
  it('puts the CD-ROM on the secondary master and disks on the primary channel', () => {
    expect(assignIdeSlots(['disk', 'cdrom', 'disk'])).toEqual([
      { channel: 0, unit: 0 }, { channel: 1, unit: 0 }, { channel: 0, unit: 1 },
    ]);
    expect(assignIdeSlots(['cdrom', 'cdrom'])).toEqual([{ channel: 1, unit: 0 }, { channel: 1, unit: 1 }]);
  });
  it('refuses a fifth drive with a clear message', () => {
    expect(() => assignIdeSlots(['disk', 'disk', 'disk', 'disk', 'cdrom'])).toThrow(/4 positions; 5 drives/);
  });
  it('writes QEMU OpenFirmware paths in boot preference order', () => {
    expect(ideBootPath({ channel: 1, unit: 0 })).toBe('/pci@i0cf8/ide@1,1/drive@1/disk@0');
    const drives = [
      { kind: 'disk' as const, slot: { channel: 0 as const, unit: 0 as const } },
      { kind: 'cdrom' as const, slot: { channel: 1 as const, unit: 0 as const } },
    ];
    expect(bootOrderPaths(drives, 'cdrom')).toEqual(['/pci@i0cf8/ide@1,1/drive@1/disk@0', '/pci@i0cf8/ide@1,1/drive@0/disk@0']);
    expect(bootOrderPaths(drives, 'disk')).toEqual(['/pci@i0cf8/ide@1,1/drive@0/disk@0', '/pci@i0cf8/ide@1,1/drive@1/disk@0']);
  });
  it('numbers virtio-scsi targets in order and lists them after IDE drives of the same kind', () => {
    const ide0 = { channel: 0 as const, unit: 0 as const };
    const drives = [
      { kind: 'disk' as const, slot: ide0, bus: 'scsi' as const },
      { kind: 'disk' as const, slot: ide0, bus: 'virtio' as const },
      { kind: 'cdrom' as const, slot: ide0, bus: 'scsi' as const },
      { kind: 'disk' as const, slot: ide0, bus: 'ide' as const },
    ];
    expect([...scsiTargets(drives)]).toEqual([[0, 0], [2, 1]]);
    expect(scsiBootPath(1)).toBe('/pci@i0cf8/scsi@8/channel@0/disk@1,0');
    expect(bootOrderPaths(drives, 'disk')).toEqual([
      '/pci@i0cf8/ide@1,1/drive@0/disk@0', '/pci@i0cf8/scsi@8/channel@0/disk@0,0', '/pci@i0cf8/scsi@8/channel@0/disk@1,0',
    ]);
    expect(bootOrderPaths(drives, 'cdrom')[0]).toBe('/pci@i0cf8/scsi@8/channel@0/disk@1,0');
  });
});
