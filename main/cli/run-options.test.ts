import { describe, expect, it } from 'vitest';
import { parseMemorySize, parseRunOptions } from './run-options.js';

describe('vireo run options', () => {
  it('applies defaults', () => {
    const o = parseRunOptions([]);
    expect(o.memoryBytes).toBe(128 * 1024 * 1024);
    expect(o.serial).toBe('none');
    expect(o.backend).toBe('interp');
    expect(o.hyperv).toBe(false);
    expect(o.kvmIrqchip).toBe('kernel');
    expect(o.disks).toEqual([]);
  });
  it('parses the KVM options', () => {
    const o = parseRunOptions(['--backend', 'kvm', '--hyperv', 'on', '--kvm-irqchip', 'userspace']);
    expect(o).toMatchObject({ backend: 'kvm', hyperv: true, kvmIrqchip: 'userspace' });
    expect(parseRunOptions(['--hyperv', 'off']).hyperv).toBe(false);
    expect(() => parseRunOptions(['--hyperv', 'yes'])).toThrow(/--hyperv: expected one of on, off/);
    expect(() => parseRunOptions(['--kvm-irqchip', 'split'])).toThrow(/--kvm-irqchip: expected one of kernel, userspace/);
  });
  it('parses sizes, disks and flags', () => {
    const o = parseRunOptions(['--memory', '1G', '--disk', 'a.qcow2,format=qcow2', '--disk', 'b.img', '--serial', 'stdio',
      '--timeout', '2.5', '--exit-on', 'login:', '--deterministic', '--screen-text', '--boot', 'disk']);
    expect(o.memoryBytes).toBe(1024 ** 3);
    expect(o.disks).toEqual([{ path: 'a.qcow2', format: 'qcow2', bus: 'ide' }, { path: 'b.img', format: undefined, bus: 'ide' }]);
    expect(parseRunOptions(['--disk', 'c.img,if=virtio']).disks).toEqual([{ path: 'c.img', format: undefined, bus: 'virtio' }]);
    expect(parseRunOptions(['--disk', 'c.img,if=scsi']).disks).toEqual([{ path: 'c.img', format: undefined, bus: 'scsi' }]);
    expect(() => parseRunOptions(['--disk', 'c.img,if=sd'])).toThrow(/--disk if: expected one of ide, virtio, scsi/);
    expect(o.timeoutSec).toBe(2.5);
    expect(o.exitOn).toBe('login:');
    expect(o.deterministic).toBe(true);
    expect(o.screenText).toBe(true);
    expect(o.boot).toBe('disk');
    expect(parseMemorySize('512', '--memory')).toBe(512 * 1024 * 1024);
  });
  it('parses networking and devices', () => {
    expect(parseRunOptions([]).net).toEqual({ mode: 'none' });
    expect(parseRunOptions(['--net', 'user,hostfwd=tcp:127.0.0.1:2222-:22']).net).toEqual({ mode: 'user', hostfwd: ['tcp:127.0.0.1:2222-:22'] });
    expect(parseRunOptions(['--device', 'virtio-rng', '--device', 'virtio-balloon']).devices).toEqual(['virtio-rng', 'virtio-balloon']);
    expect(() => parseRunOptions(['--net', 'tap'])).toThrow(/--net: expected none or user/);
    expect(() => parseRunOptions(['--device', 'e1000'])).toThrow(/--device: expected one of virtio-rng/);
  });

  it('parses --balloon and --agent-socket, adding their devices', () => {
    const o = parseRunOptions(['--memory', '256M', '--balloon', '192M', '--agent-socket', '/tmp/qga.sock']);
    expect(o.balloonTargetBytes).toBe(192 * 1024 * 1024);
    expect(o.agentSocket).toBe('/tmp/qga.sock');
    expect(o.devices).toEqual(['virtio-balloon', 'virtio-serial']);
    expect(parseRunOptions(['--device', 'virtio-balloon', '--balloon', '64M']).devices).toEqual(['virtio-balloon']);
    expect(() => parseRunOptions(['--memory', '128M', '--balloon', '256M'])).toThrow(/--balloon: must be between 1M and the guest's memory \(128M\)/);
    expect(() => parseRunOptions(['--agent-socket', ''])).toThrow(/--agent-socket: expected a socket path/);
  });

  it('names the option in every error', () => {
    expect(() => parseRunOptions(['--memory', 'lots'])).toThrow(/--memory: expected a size/);
    expect(() => parseRunOptions(['--memory', '64G'])).toThrow(/--memory: must be between/);
    expect(() => parseRunOptions(['--cpus', '0'])).toThrow(/--cpus: expected a whole number/);
    expect(() => parseRunOptions(['--backend', 'hvf'])).toThrow(/--backend: expected one of interp, kvm, auto/);
    expect(() => parseRunOptions(['--disk', 'x.img,format=vmdk'])).toThrow(/--disk format: expected one of raw, qcow2/);
    expect(() => parseRunOptions(['--timeout=-1'])).toThrow(/--timeout: expected a positive number/);
    expect(() => parseRunOptions(['--display', 'gtk'])).toThrow(/--display: expected one of none/);
    expect(() => parseRunOptions(['--frobnicate'])).toThrow(/frobnicate/);
  });
});
