import { describe, expect, it } from 'vitest';
import { decodeRandInsn, kvmRegOffset } from './kvm-insn.js';

const b = (...x: number[]): Uint8Array => Uint8Array.from(x);

describe('decodeRandInsn', () => {
  it('decodes RDRAND/RDSEED with the operand size of the code segment', () => {
    expect(decodeRandInsn(b(0x0f, 0xc7, 0xf2, 0x0f, 0x82), 32)).toEqual({ kind: 'rdrand', length: 3, reg: 2, size: 4 });
    expect(decodeRandInsn(b(0x66, 0x0f, 0xc7, 0xf0), 16)).toEqual({ kind: 'rdrand', length: 4, reg: 0, size: 4 });
    expect(decodeRandInsn(b(0x0f, 0xc7, 0xf0), 16)).toEqual({ kind: 'rdrand', length: 3, reg: 0, size: 2 });
    expect(decodeRandInsn(b(0x66, 0x0f, 0xc7, 0xfb), 32)).toEqual({ kind: 'rdseed', length: 4, reg: 3, size: 2 });
    expect(decodeRandInsn(b(0x48, 0x0f, 0xc7, 0xf0), 64)).toEqual({ kind: 'rdrand', length: 4, reg: 0, size: 8 });
    expect(decodeRandInsn(b(0x49, 0x0f, 0xc7, 0xf9), 64)).toEqual({ kind: 'rdseed', length: 4, reg: 9, size: 8 });
    expect(decodeRandInsn(b(0x41, 0x0f, 0xc7, 0xf1), 64)).toEqual({ kind: 'rdrand', length: 4, reg: 9, size: 4 });
  });

  it('rejects other instructions', () => {
    expect(decodeRandInsn(b(0x0f, 0xc7, 0x0e, 0, 0), 32)).toBeNull(); // cmpxchg8b [esi]
    expect(decodeRandInsn(b(0x0f, 0xc7, 0x36), 32)).toBeNull(); // vmptrld-like memory form
    expect(decodeRandInsn(b(0xf3, 0x0f, 0xc7, 0xf8), 64)).toBeNull(); // rdpid
    expect(decodeRandInsn(b(0x0f, 0xa2), 32)).toBeNull();
    expect(decodeRandInsn(b(0x0f, 0xc7), 32)).toBeNull();
    // In 32-bit code 0x48 is DEC EAX, not REX.
    expect(decodeRandInsn(b(0x48, 0x0f, 0xc7, 0xf0), 32)).toBeNull();
  });

  it('maps x86 register numbers to struct kvm_regs offsets', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 15].map(kvmRegOffset)).toEqual([0, 16, 24, 8, 48, 56, 32, 40, 64, 120]);
  });
});
