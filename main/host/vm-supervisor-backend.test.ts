/**
 * The CPU backend a VM asks for reaches its worker: `kvm` runs the guest on KVM where
 * /dev/kvm is usable (SeaBIOS on the screen, `backendInUse` says kvm), and is refused with
 * the reason where it cannot run (several vCPUs); `auto` reaches the worker, which picks KVM
 * when it is usable and says why not otherwise. Windows guests get the Hyper-V enlightenments.
 * Needs `npm run build` first (the real worker).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { VmConfig } from '../../protocol/index.js';
import { BUILT_WORKER_URL, builtWorkerMissing } from './test-support/fake-workers.js';
import { VmSupervisor, workerConfigFor } from './vm-supervisor.js';

const missing = builtWorkerMissing();
function kvmAccessible(): boolean {
  try { accessSync('/dev/kvm', constants.R_OK | constants.W_OK); return true; } catch { return false; }
}

function vm(overrides: Partial<VmConfig> = {}): VmConfig {
  return VmConfig.parse({
    version: 1, id: 'test-vm-0003', name: 'Backend', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64,
    createdAt: '2026-01-01T00:00:00.000Z', ...overrides,
  });
}

describe('CPU backend of a VM', () => {
  let s: VmSupervisor | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('maps the requested backend into the worker config', () => {
    expect(workerConfigFor(vm({ backend: 'kvm' })).backend).toBe('kvm');
    expect(workerConfigFor(vm({ backend: 'interp' })).backend).toBe('interp');
    expect(workerConfigFor(vm({ backend: 'auto' })).backend).toBe('auto');
  });

  it('turns the Hyper-V enlightenments on for Windows guests only', () => {
    expect(workerConfigFor(vm({ os: { id: 'win11', name: 'Windows 11' } })).hyperv).toBe(true);
    expect(workerConfigFor(vm({ os: { id: 'http://microsoft.com/win/10', name: 'Windows 10' } })).hyperv).toBe(true);
    expect(workerConfigFor(vm({ os: { id: 'debian12', name: 'Debian 12' } })).hyperv).toBe(false);
  });

  it.skipIf(missing !== null)('refuses KVM for two vCPUs with the reason, and nothing keeps running', async () => {
    s = new VmSupervisor({ workerUrl: BUILT_WORKER_URL });
    await s.start(vm({ backend: 'kvm', cpus: 2 })).catch(() => {});
    await expect.poll(() => s!.stateOf('test-vm-0003').state, { timeout: 30_000 }).toBe('stopped');
    expect(s.stateOf('test-vm-0003').stateReason).toMatch(/KVM backend runs a single vCPU; --cpus 2 needs the interpreter/);
    expect(s.backendInUseOf('test-vm-0003')).toBeNull();
  }, 60_000);

  it.skipIf(missing !== null)('auto says which backend runs and why', async () => {
    s = new VmSupervisor({ workerUrl: BUILT_WORKER_URL });
    const id = 'test-vm-0003';
    await s.start(vm({ backend: 'auto' }));
    const kind = s.backendInUseOf(id);
    const reason = s.backendReasonOf(id) ?? '';
    if (!kvmAccessible()) expect([kind, reason]).toEqual(['interp', expect.stringMatching(/^KVM is not usable: /)]);
    else if (existsSync('/sys/module/kvm_pvm')) expect([kind, reason]).toEqual(['interp', expect.stringMatching(/^kvm_pvm: /)]);
    else expect([kind, reason]).toEqual(['kvm', '/dev/kvm is usable (in-kernel irqchip)']);
    await s.forceOff(id);
    expect(s.backendReasonOf(id)).toBeNull();
  }, 90_000);

  it.skipIf(missing !== null || !kvmAccessible())('runs SeaBIOS on KVM when the VM asks for it', async () => {
    s = new VmSupervisor({ workerUrl: BUILT_WORKER_URL });
    const id = 'test-vm-0003';
    await s.start(vm({ backend: 'kvm' }));
    expect(s.backendInUseOf(id)).toBe('kvm');
    expect(s.backendReasonOf(id)).toMatch(/^KVM was requested \(in-kernel irqchip/);
    await expect.poll(async () => s!.screenText(id), { timeout: 60_000, interval: 500 }).toContain('SeaBIOS');
    await s.forceOff(id);
    expect(s.backendInUseOf(id)).toBeNull();
  }, 90_000);
});
