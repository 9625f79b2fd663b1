/**
 * Graceful shut down (ACPI power button) with the real emulator worker running SeaBIOS,
 * which never reacts to the power button; and CD-ROM media changes on a running VM.
 * The real-worker part needs `npm run build` first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VmConfig } from '../../protocol/index.js';
import { mediaChanges } from './media-change.js';
import { BUILT_WORKER_URL, builtWorkerMissing, createEchoWorker } from './test-support/fake-workers.js';
import { SHUTDOWN_NO_RESPONSE, VmSupervisor } from './vm-supervisor.js';

const missing = builtWorkerMissing();
if (missing) console.warn(`shutdown tests with the real worker skipped: ${missing}`);

function vm(overrides: Partial<VmConfig> = {}): VmConfig {
  return VmConfig.parse({
    version: 1, id: 'test-vm-0002', name: 'Shutdown', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64,
    createdAt: '2026-01-01T00:00:00.000Z', ...overrides,
  });
}

describe('mediaChanges', () => {
  const base = vm({
    drives: [
      { id: 'd0', kind: 'disk', path: '/vm/a.qcow2', format: 'qcow2', bus: 'ide', readOnly: false },
      { id: 'c0', kind: 'cdrom', path: '', format: 'iso', bus: 'ide', readOnly: true },
      { id: 'c1', kind: 'cdrom', path: '/iso/old.iso', format: 'iso', bus: 'ide', readOnly: true },
    ],
  });
  const withDrives = (f: (d: VmConfig['drives']) => VmConfig['drives']): VmConfig => ({ ...base, drives: f(base.drives.map((d) => ({ ...d }))) });

  it('lists the CD-ROM slots whose media changed (null ejects)', () => {
    expect(mediaChanges(base, base)).toEqual([]);
    expect(mediaChanges(base, withDrives((d) => { d[1]!.path = '/iso/new.iso'; d[2]!.path = ''; return d; }))).toEqual([
      { slot: 1, driveId: 'c0', path: '/iso/new.iso' }, { slot: 2, driveId: 'c1', path: null },
    ]);
    expect(mediaChanges(base, { ...base, createdAt: 'later' })).toEqual([]);
  });

  it('is null for anything else: memory, a disk path, adding or removing a drive', () => {
    expect(mediaChanges(base, { ...base, memoryMiB: 128 })).toBeNull();
    expect(mediaChanges(base, withDrives((d) => { d[0]!.path = '/vm/b.qcow2'; return d; }))).toBeNull();
    expect(mediaChanges(base, withDrives((d) => d.slice(0, 2)))).toBeNull();
    expect(mediaChanges(base, withDrives((d) => [...d, { id: 'c2', kind: 'cdrom', path: '', format: 'iso', bus: 'ide', readOnly: true }]))).toBeNull();
  });
});

describe('VmSupervisor.shutdown', () => {
  let s: VmSupervisor | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('refuses a VM that is not running', async () => {
    s = new VmSupervisor({ createWorker: () => createEchoWorker() });
    await expect(s.shutdown('test-vm-0002')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('reports a CD-ROM change the worker does not confirm, and stays running', async () => {
    s = new VmSupervisor({ createWorker: () => createEchoWorker(), requestTimeoutMs: 500 });
    await s.start(vm());
    await expect(s.changeCdrom('test-vm-0002', 0, '/iso/x.iso')).rejects.toMatchObject({ message: expect.stringMatching(/did not confirm the CD-ROM change/) as unknown });
    expect(s.stateOf('test-vm-0002').state).toBe('running');
  });

  it.skipIf(missing !== null)('SeaBIOS ignores the ACPI power button: the VM stays running with the no-response reason, Force off works', async () => {
    s = new VmSupervisor({ workerUrl: BUILT_WORKER_URL, shutdownTimeoutMs: 3000 });
    const states: string[] = [];
    s.on((e) => { if (e.kind === 'state') states.push(e.state); });
    const id = 'test-vm-0002';
    // The interpreter explicitly: `auto` would take KVM on a host with a usable /dev/kvm.
    await s.start(vm({ backend: 'interp' }));
    expect(s.backendInUseOf(id)).toBe('interp');
    expect(await s.shutdown(id)).toBe('no-response');
    expect(s.stateOf(id)).toEqual({ state: 'running', stateReason: SHUTDOWN_NO_RESPONSE });
    expect(SHUTDOWN_NO_RESPONSE).toBe('The guest did not respond to the ACPI power button; use Force off');
    expect(states).toEqual(['starting', 'running', 'stopping', 'running']);
    // Still alive and answering.
    expect(typeof (await s.screenText(id))).toBe('string');
    await s.forceOff(id);
    expect(s.stateOf(id)).toEqual({ state: 'stopped', stateReason: 'Forced off' });
    expect(s.backendInUseOf(id)).toBeNull();
  }, 60_000);
});
