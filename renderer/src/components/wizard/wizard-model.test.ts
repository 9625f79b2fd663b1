import { describe, expect, it } from 'vitest';
import type { OsPreset } from '../../../../protocol/index.js';
import { buildPlan, deviceModels, diskPathFor, formatEta, initialFields, recommend, slugify, validateStep, type ValidationContext, type WizardFields } from './wizard-model.js';

const win11: OsPreset = { id: 'win11', name: 'Microsoft Windows 11', family: 'windows', cpus: 4, memoryMiB: 8192, diskGiB: 128, firmware: 'uefi', tpm: 'required', virtioDrivers: 'needed' };
const debian: OsPreset = { id: 'debian12', name: 'Debian 12', family: 'linux', cpus: 2, memoryMiB: 2048, diskGiB: 20, firmware: 'bios', tpm: 'none', virtioDrivers: 'builtin' };
const host = { cpus: 2, memoryBytes: 12 * 1024 ** 3, imageDir: '/data/images' };
const ctx = (over: Partial<ValidationContext> = {}): ValidationContext => ({
  host, preset: win11, inspection: null, inspectError: null, nameTaken: (n) => n.toLowerCase() === 'taken', download: null, ...over,
});
const fields = (over: Partial<WizardFields> = {}): WizardFields => ({
  ...initialFields(), osId: 'win11', isoPath: '/iso/win.iso', cpus: '2', memoryMiB: '4096', diskSizeGiB: '128', name: 'Win', ...over,
});

describe('wizard model', () => {
  it('caps recommendations by the host and says so', () => {
    const r = recommend(win11, host);
    expect(r).toMatchObject({ cpus: 2, memoryMiB: 6144, diskGiB: 128 });
    expect(r.notes).toHaveLength(2);
    expect(recommend(win11, { ...host, cpus: 8, memoryBytes: 64 * 1024 ** 3 })).toMatchObject({ cpus: 4, memoryMiB: 8192, notes: [] });
  });

  it('validates each step with field-level messages', () => {
    expect(validateStep('media', fields({ isoPath: '' }), ctx())).toEqual({ isoPath: 'Choose the install ISO.' });
    expect(validateStep('media', fields({ isoPath: 'rel.iso' }), ctx()).isoPath).toMatch(/full path/);
    expect(validateStep('media', fields(), ctx({ inspectError: 'not an ISO' }))).toEqual({ isoPath: 'not an ISO' });
    expect(validateStep('media', fields(), ctx({ preset: null }))).toEqual({ osId: 'Choose the operating system.' });
    expect(validateStep('resources', fields({ cpus: '3', memoryMiB: 'lots' }), ctx())).toEqual({
      cpus: "CPUs must not exceed the host's 2.", memoryMiB: 'Memory must be a whole number of MiB (for example 2048).',
    });
    expect(validateStep('storage', fields({ diskSizeGiB: '0' }), ctx())).toEqual({ diskSizeGiB: 'Size must be at least 1 GiB.' });
    expect(validateStep('storage', fields({ storage: 'existing' }), ctx())).toEqual({ existingDiskPath: 'Choose the disk image.' });
    expect(validateStep('finish', fields({ name: ' taken ' }), ctx()).name).toMatch(/already exists/);
    expect(validateStep('finish', fields({ virtio: 'download' }), ctx({ download: { status: 'running', error: null } })).virtioDownload).toMatch(/Wait for the download/);
    expect(validateStep('finish', fields({ virtio: 'file' }), ctx()).virtioPath).toMatch(/Choose the virtio-win ISO/);
    expect(validateStep('finish', fields(), ctx())).toEqual({});
  });

  it('picks virtio only when drivers are there', () => {
    expect(deviceModels(win11, false)).toMatchObject({ disk: 'ide', nic: 'e1000' });
    expect(deviceModels(win11, true)).toMatchObject({ disk: 'virtio', nic: 'virtio' });
    expect(deviceModels(debian, false)).toMatchObject({ disk: 'virtio', nic: 'virtio' });
    expect(buildPlan(fields({ virtio: 'download' }), win11, 'W', host, null).draft.network?.model).toBe('e1000');
  });

  it('plans the disk and the VM: disk, install CD-ROM, virtio CD-ROM', () => {
    const plan = buildPlan(fields({ name: 'Windows 11 (work)', virtio: 'file', virtioPath: '/v/virtio-win.iso' }), win11, 'Microsoft Windows 11', host, '/v/virtio-win.iso');
    expect(plan.disk).toEqual({ path: '/data/images/windows-11-work.qcow2', sizeBytes: 128 * 1024 ** 3, format: 'qcow2' });
    expect(plan.draft).toMatchObject({
      name: 'Windows 11 (work)', os: { id: 'win11', name: 'Microsoft Windows 11' }, firmware: 'bios', cpus: 2, memoryMiB: 4096,
      bootOrder: ['cdrom', 'disk'], network: { mode: 'user', model: 'virtio' },
      drives: [
        { id: 'disk0', kind: 'disk', path: '/data/images/windows-11-work.qcow2', format: 'qcow2', bus: 'virtio' },
        { id: 'cd0', kind: 'cdrom', path: '/iso/win.iso', format: 'iso', bus: 'ide', readOnly: true },
        { id: 'cd1', kind: 'cdrom', path: '/v/virtio-win.iso', format: 'iso', bus: 'ide', readOnly: true },
      ],
    });
    const imported = buildPlan(fields({ method: 'import', importPath: '/d/old.img' }), debian, 'Debian 12', host, null);
    expect(imported.disk).toBeNull();
    expect(imported.draft.drives).toEqual([{ id: 'disk0', kind: 'disk', path: '/d/old.img', format: 'raw', bus: 'virtio', readOnly: false }]);
    expect(imported.draft.bootOrder).toEqual(['disk']);
  });

  it('formats names and times', () => {
    expect(slugify('  Ünïcode VM!! ')).toBe('unicode-vm');
    expect(diskPathFor(fields({ diskPath: '/x/y.raw' }), host)).toBe('/x/y.raw');
    expect(formatEta(65)).toBe('1 min 05 s');
  });
});
