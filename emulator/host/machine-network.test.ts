import { describe, expect, it } from 'vitest';
import { hostEntropy, parseHostForward } from './machine-network.js';

describe('machine network helpers', () => {
  it('parses QEMU hostfwd rules', () => {
    expect(parseHostForward('tcp:127.0.0.1:2222-:22')).toEqual({ protocol: 'tcp', hostPort: 2222, guestPort: 22, hostAddress: '127.0.0.1' });
    expect(parseHostForward('udp::5353-:53')).toEqual({ protocol: 'udp', hostPort: 5353, guestPort: 53 });
    expect(() => parseHostForward('tcp:2222:22')).toThrow(/hostfwd: expected/);
    expect(() => parseHostForward('tcp::70000-:22')).toThrow(/port 70000/);
  });
  it('fills large entropy requests', () => {
    const b = new Uint8Array(200_000);
    hostEntropy(b);
    expect(b.subarray(150_000).some((x) => x !== 0)).toBe(true);
  });
});
