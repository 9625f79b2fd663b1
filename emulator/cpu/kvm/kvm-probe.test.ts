import { describe, expect, it } from 'vitest';
import { probeKvm, REQUIRED_CAPS, type KvmProbeSys } from './kvm-probe.js';
import { KVM, KVM_CAP } from './kvm-sys.js';

function fakeSys(opts: { open?: number; version?: number; missing?: number[] }): KvmProbeSys & { closed: number[] } {
  const closed: number[] = [];
  return {
    closed,
    open: () => opts.open ?? 7,
    close: (fd) => { closed.push(fd); },
    ioctl: (_fd, request, arg) => {
      if (request === KVM.GET_API_VERSION) return opts.version ?? 12;
      if (request === KVM.CHECK_EXTENSION) return (opts.missing ?? []).includes(arg) ? 0 : 1;
      return -22;
    },
  };
}

describe('probeKvm', () => {
  it('usable when the device opens, the version is 12 and every capability is there', () => {
    const sys = fakeSys({});
    expect(probeKvm(sys)).toEqual({ usable: true });
    expect(sys.closed).toEqual([7]);
  });
  it('names a missing device', () => {
    expect(probeKvm(fakeSys({ open: -2 }))).toEqual({ usable: false, reason: 'no /dev/kvm (KVM module not loaded or not supported)' });
  });
  it('explains permission problems', () => {
    expect(probeKvm(fakeSys({ open: -13 }))).toEqual({ usable: false, reason: 'permission denied on /dev/kvm: add your user to the kvm group' });
  });
  it('rejects another API version', () => {
    const sys = fakeSys({ version: 11 });
    expect(probeKvm(sys)).toEqual({ usable: false, reason: 'KVM API version 11, expected 12' });
    expect(sys.closed).toEqual([7]);
  });
  it('lists missing capabilities', () => {
    const r = probeKvm(fakeSys({ missing: [KVM_CAP.IRQCHIP, KVM_CAP.PIT2] }));
    expect(r).toEqual({ usable: false, reason: 'KVM lacks required capabilities: KVM_CAP_IRQCHIP, KVM_CAP_PIT2' });
    expect(REQUIRED_CAPS.map((c) => c.name)).toContain('KVM_CAP_USER_MEMORY');
  });
  it('reports other open errors with their errno', () => {
    expect(probeKvm(fakeSys({ open: -5 }))).toEqual({ usable: false, reason: 'cannot open /dev/kvm (errno 5)' });
  });
});

describe('probeKvm on this host', () => {
  it('binds libc and gives a reason or says usable', () => {
    const r = probeKvm(undefined, '/dev/kvm-does-not-exist');
    expect(r).toEqual({ usable: false, reason: 'no /dev/kvm-does-not-exist (KVM module not loaded or not supported)' });
  });
});
