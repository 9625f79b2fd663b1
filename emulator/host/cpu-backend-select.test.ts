import { describe, expect, it } from 'vitest';
import { probeKvm } from '../cpu/kvm/kvm-probe.js';
import { chooseBackend, hostKvmIsPvm } from './cpu-backend-select.js';

const kvm = probeKvm();

describe('CPU backend choice', () => {
  it('uses the interpreter when asked, and for deterministic runs under auto', () => {
    expect(chooseBackend('interp', false)).toMatchObject({ kind: 'interp' });
    expect(chooseBackend('auto', true)).toEqual({ kind: 'interp', reason: 'deterministic mode needs the interpreter' });
  });
  it('refuses KVM in deterministic mode with a clear message', () => {
    expect(() => chooseBackend('kvm', true)).toThrow(/--backend kvm: deterministic mode needs the interpreter/);
  });
  it('keeps several vCPUs on the interpreter: auto picks it, --backend kvm names the single-vCPU limit', () => {
    expect(chooseBackend('auto', false, undefined, 2)).toEqual({ kind: 'interp', reason: '2 vCPUs need the interpreter (the KVM backend runs one)' });
    expect(() => chooseBackend('kvm', false, undefined, 4)).toThrow(/--backend kvm: the KVM backend runs a single vCPU; --cpus 4 needs the interpreter/);
    expect(chooseBackend('interp', false, undefined, 8)).toMatchObject({ kind: 'interp' });
  });
  it('follows the probe under auto and names the reason', () => {
    const c = chooseBackend('auto', false, undefined, 1, { pvm: false });
    if (kvm.usable) {
      expect(c.kind).toBe('kvm');
      expect(c.reason).toBe('/dev/kvm is usable (in-kernel irqchip)');
      expect(c.createCpu).toBeTypeOf('function');
      expect(c.alignWindow).toBeTypeOf('function');
    } else {
      expect(c).toEqual({ kind: 'interp', reason: `KVM is not usable: ${kvm.reason}` });
      expect(() => chooseBackend('kvm', false)).toThrow(new RegExp(`^--backend kvm: `));
    }
  });
  it.skipIf(!kvm.usable)('auto leaves a PVM /dev/kvm alone and says why; --backend kvm still takes it', () => {
    expect(chooseBackend('auto', false, undefined, 1, { pvm: true })).toMatchObject({ kind: 'interp', reason: expect.stringMatching(/^kvm_pvm: /) });
    const forced = chooseBackend('kvm', false, undefined, 1, { pvm: true, irqchip: 'userspace', hyperv: true });
    expect(forced).toMatchObject({ kind: 'kvm', reason: 'KVM was requested (userspace irqchip, Hyper-V enlightenments, PVM)' });
  });
  it('detects PVM from the loaded module', () => {
    expect(typeof hostKvmIsPvm()).toBe('boolean');
  });
});
