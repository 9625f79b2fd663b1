import { describe, expect, it } from 'vitest';
import { desDecryptBlock, desEncryptBlock, vncAuthKey, vncAuthResponse } from './des.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('DES (FIPS 46-3)', () => {
  // Vectors: the worked example of J. Orlin Grabbe "The DES Algorithm Illustrated", and
  // NBS Special Publication 500-20 (variable plaintext / variable key / S-box tables).
  const vectors: [key: string, plain: string, cipher: string][] = [
    ['133457799bbcdff1', '0123456789abcdef', '85e813540f0ab405'],
    ['0101010101010101', '95f8a5e5dd31d900', '8000000000000000'],
    ['0101010101010101', '0000000000000001', '166b40b44aba4bd6'],
    ['8001010101010101', '0000000000000000', '95a8d72813daa94d'],
    ['7ca110454a1a6e57', '01a1d6d039776742', '690f5b0d9a26939b'],
    ['0131d9619dc1376e', '5cd54ca83def57da', '7a389d10354bd271'],
    ['0e329232ea6d0d73', '8787878787878787', '0000000000000000'],
  ];
  it.each(vectors)('key %s encrypts %s to %s', (key, plain, cipher) => {
    expect(toHex(desEncryptBlock(hex(key), hex(plain)))).toBe(cipher);
    expect(toHex(desDecryptBlock(hex(key), hex(cipher)))).toBe(plain);
  });

  it('rejects wrong block sizes', () => {
    expect(() => desEncryptBlock(new Uint8Array(7), new Uint8Array(8))).toThrow(RangeError);
  });
});

describe('VNC Authentication', () => {
  it('bit-reverses the password bytes into the key', () => {
    // 'p' 0x70 = 01110000 -> 00001110 = 0x0e
    expect(toHex(vncAuthKey('p'))).toBe('0e00000000000000');
    expect(vncAuthKey('123456789')).toEqual(vncAuthKey('12345678'));
  });

  it('encrypts both challenge halves with the reversed key', () => {
    const challenge = hex('00112233445566778899aabbccddeeff');
    const res = vncAuthResponse('secret', challenge);
    const key = vncAuthKey('secret');
    expect(toHex(res.subarray(0, 8))).toBe(toHex(desEncryptBlock(key, challenge.subarray(0, 8))));
    expect(toHex(res.subarray(8))).toBe(toHex(desEncryptBlock(key, challenge.subarray(8))));
    expect(toHex(desDecryptBlock(key, res.subarray(8)))).toBe('8899aabbccddeeff');
  });
});
