import { describe, expect, it } from 'vitest';
import { VmConfig } from '../../../../protocol/index.js';
import {
  formFromConfig, moveBoot, newCdromDrive, newDiskDrive, newDiskPath, nextDriveId, onlyMediaChanged, sameConfig,
  suggestCloneName, tabOfField, validateForm, type EditorForm,
} from './editor-model.js';

const base = VmConfig.parse({
  version: 1, id: 'abcd-1234-efgh', name: 'Debian', os: { id: 'debian12', name: 'Debian 12' }, cpus: 2, memoryMiB: 1024,
  drives: [
    { id: 'disk0', kind: 'disk', path: '/vm/debian.qcow2', format: 'qcow2' },
    { id: 'cd0', kind: 'cdrom', path: '/iso/debian.iso', format: 'iso', readOnly: true },
  ],
  bootOrder: ['disk', 'cdrom'], network: { mode: 'user', model: 'virtio' }, createdAt: '2026-01-01T00:00:00.000Z',
});
const form = (over: Partial<EditorForm> = {}): EditorForm => ({ ...formFromConfig(base), ...over });
const errorsOf = (f: EditorForm, taken?: (n: string) => boolean): Record<string, string> => {
  const r = validateForm(base, f, taken);
  return r.ok ? {} : r.errors;
};

describe('the details editor model', () => {
  it('round-trips a config unchanged, boot devices that are off listed after the others', () => {
    const f = form();
    expect(f.boot).toEqual([{ device: 'disk', enabled: true }, { device: 'cdrom', enabled: true }, { device: 'network', enabled: false }]);
    const r = validateForm(base, f);
    expect(r.ok && sameConfig(r.config, base)).toBe(true);
  });

  it('builds the edited config: memory, CPUs, boot order, network, VNC', () => {
    const r = validateForm(base, form({
      memoryMiB: '2048', cpus: '4', boot: moveBoot(form().boot, 1, -1), networkModel: 'e1000',
      vncEnabled: true, vncPort: '5901', vncPassword: 'secret',
    }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toMatchObject({ memoryMiB: 2048, cpus: 4, bootOrder: ['cdrom', 'disk'], network: { mode: 'user', model: 'e1000' } });
    expect(r.config.display).toEqual({ vnc: { enabled: true, port: 5901, password: 'secret' } });
    expect(r.config.id).toBe(base.id);
    expect(r.config.createdAt).toBe(base.createdAt);
  });

  it('reports each invalid field with the schema message, keyed by the schema path', () => {
    expect(errorsOf(form({ cpus: '0', memoryMiB: '8' }))).toEqual({ cpus: 'cpus must be at least 1', memoryMiB: 'memoryMiB must be at least 16' });
    expect(errorsOf(form({ cpus: '65' }))).toEqual({ cpus: 'cpus must be at most 64' });
    expect(errorsOf(form({ cpus: '1.5', memoryMiB: 'lots' }))).toEqual({
      cpus: 'cpus must be a whole number', memoryMiB: 'memoryMiB must be a whole number of MiB',
    });
    expect(errorsOf(form({ name: '   ' }))).toEqual({ name: 'name must not be empty' });
    expect(errorsOf(form({ name: 'x'.repeat(101) }))).toEqual({ name: 'name must be at most 100 characters' });
    expect(errorsOf(form({ vncEnabled: true, vncPort: '80' }))).toEqual({
      'display.vnc.port': 'port must be at least 1024',
      'display.vnc.password': 'a password is required when the VNC listener is enabled',
    });
    expect(errorsOf(form({ boot: form().boot.map((b) => ({ ...b, enabled: false })) }))).toEqual({ bootOrder: 'bootOrder: enable at least one boot device' });
  });

  it('checks drive paths and refuses a name another VM has', () => {
    const drives = [...base.drives, newDiskDrive(base.drives, ''), newCdromDrive(base.drives, 'relative.iso')];
    expect(errorsOf(form({ drives }))).toEqual({ 'drives.2.path': 'path: a disk needs an image file', 'drives.3.path': 'path must be an absolute path' });
    expect(errorsOf(form({ name: 'Ubuntu' }), (n) => n === 'Ubuntu')).toEqual({ name: 'name: a VM named "Ubuntu" already exists' });
  });

  it('knows which tab shows a field', () => {
    expect(['name', 'cpus', 'memoryMiB', 'bootOrder', 'drives.1.path', 'network.model', 'display.vnc.port', 'serial.pty'].map(tabOfField))
      .toEqual(['overview', 'cpus', 'memory', 'boot', 'disks', 'network', 'display', 'serial']);
  });

  it('turns the serial pseudo-terminal on and off; a config without the setting stays without it', () => {
    expect(form().serialPty).toBe(false);
    const unchanged = validateForm(base, form());
    expect(unchanged.ok && unchanged.config.serial).toBeUndefined();
    const on = validateForm(base, form({ serialPty: true }));
    expect(on.ok && on.config.serial).toEqual({ pty: true });
    if (!on.ok) return;
    expect(formFromConfig(on.config).serialPty).toBe(true);
    const off = validateForm(on.config, { ...formFromConfig(on.config), serialPty: false });
    expect(off.ok && off.config.serial).toEqual({ pty: false });
    // Not a media change: a running VM refuses it (it applies at the next start).
    expect(onlyMediaChanged(base, on.config)).toBe(false);
  });

  it('turns the virtio tablet off and on; a config without the setting has one and stays without the field', () => {
    expect(form().tablet).toBe(true);
    expect(tabOfField('input.tablet')).toBe('input');
    const unchanged = validateForm(base, form());
    expect(unchanged.ok && unchanged.config.input).toBeUndefined();
    const off = validateForm(base, form({ tablet: false }));
    expect(off.ok && off.config.input).toEqual({ tablet: false });
    if (!off.ok) return;
    expect(formFromConfig(off.config).tablet).toBe(false);
    expect(onlyMediaChanged(base, off.config)).toBe(false);
  });

  it('tells a media-only change (allowed while running) from others', () => {
    const swapped = { ...base, drives: base.drives.map((d) => (d.kind === 'cdrom' ? { ...d, path: '/iso/other.iso' } : d)) };
    expect(onlyMediaChanged(base, swapped)).toBe(true);
    expect(onlyMediaChanged(base, { ...base, memoryMiB: 2048 })).toBe(false);
    expect(onlyMediaChanged(base, { ...base, drives: [...base.drives, newCdromDrive(base.drives)] })).toBe(false);
  });

  it('names new drives, new disk files and clones', () => {
    expect(nextDriveId(base.drives, 'disk')).toBe('disk1');
    expect(nextDriveId(base.drives, 'cdrom')).toBe('cd1');
    expect(newDiskDrive(base.drives, '/x/data.img', 'virtio')).toEqual({ id: 'disk1', kind: 'disk', path: '/x/data.img', format: 'raw', bus: 'virtio', readOnly: false });
    expect(newCdromDrive(base.drives)).toEqual({ id: 'cd1', kind: 'cdrom', path: '', format: 'iso', bus: 'ide', readOnly: true });
    expect(newDiskPath('/data/images/', 'My VM', 'disk1')).toBe('/data/images/my-vm-disk1.qcow2');
    expect(suggestCloneName('Debian', () => false)).toBe('Debian clone');
    expect(suggestCloneName('Debian', (n) => n === 'Debian clone' || n === 'Debian clone 2')).toBe('Debian clone 3');
    expect(moveBoot(form().boot, 0, -1)).toEqual(form().boot);
  });
});
