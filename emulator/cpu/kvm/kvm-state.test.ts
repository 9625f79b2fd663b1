import { describe, expect, it } from 'vitest';
import { Layout } from './kvm-sys.js';
import { KVM_CPU_STATE_VERSION, decodeKvmCpuState, encodeKvmCpuState, validateKvmCpuState, type KvmCpuState } from './kvm-state.js';

function sample(): KvmCpuState {
  const blob = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
  return {
    version: KVM_CPU_STATE_VERSION,
    regs: blob(Layout.regs.size, 1), sregs: blob(Layout.sregs.size, 2), xsave: blob(Layout.xsave.size, 3),
    xcrs: blob(Layout.xcrs.size, 4), debugregs: blob(Layout.debugregs.size, 5), events: blob(Layout.vcpuEvents.size, 6),
    mpState: 3, lapic: blob(Layout.lapicState.size, 7),
    msrs: [{ index: 0x10, value: 0xffff_ffff_ffff_fff0n }, { index: 0xc0000080, value: 0x500n }],
    halted: false,
  };
}

describe('KvmCpuState', () => {
  it('survives JSON encoding byte for byte', () => {
    const s = sample();
    const back = decodeKvmCpuState(JSON.parse(JSON.stringify(encodeKvmCpuState(s))));
    expect(back).toEqual(s);
    expect(back.fpu).toBeUndefined();
  });

  it('names what is wrong with a malformed state', () => {
    expect(() => validateKvmCpuState({ ...sample(), regs: new Uint8Array(10) })).toThrow('regs has 10 bytes, struct regs has 144');
    expect(() => validateKvmCpuState({ ...sample(), fpu: new Uint8Array(Layout.fpu.size) })).toThrow('exactly one of xsave and fpu');
    expect(() => validateKvmCpuState({ ...sample(), msrs: [{ index: -1, value: 0n }] })).toThrow('bad MSR entry');
    expect(() => validateKvmCpuState({ ...sample(), msrs: [{ index: 1, value: 1n << 64n }] })).toThrow('bad MSR entry');
    const { sregs: _s, ...noSregs } = sample();
    expect(() => validateKvmCpuState(noSregs as KvmCpuState)).toThrow('sregs is missing');
    const json = encodeKvmCpuState(sample());
    expect(() => decodeKvmCpuState({ ...json, version: 2 })).toThrow('version 2, expected 1');
    expect(() => decodeKvmCpuState(null)).toThrow('not an object');
    expect(() => decodeKvmCpuState({ ...json, blobs: { ...json.blobs, regs: 'not base64!' } })).toThrow('regs is not base64');
    expect(() => decodeKvmCpuState({ ...json, msrs: [[16, 'xyz']] })).toThrow('bad MSR entry');
    expect(() => decodeKvmCpuState({ ...json, halted: 'no' })).toThrow('halted is not a boolean');
  });
});
