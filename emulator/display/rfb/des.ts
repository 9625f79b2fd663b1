/**
 * DES (FIPS 46-3) on single 64-bit blocks, and the VNC Authentication response.
 *
 * Follows FIPS PUB 46-3 (tables IP, E, P, S1-S8, PC-1, PC-2 and the key schedule's left
 * shifts; FP is derived as the inverse of IP). RFC 6143 section 7.2.2 "VNC
 * Authentication": the 16-byte challenge is encrypted as two ECB blocks with the
 * password (first 8 characters, zero-padded) as key. The RFC does not say it, but every
 * implementation (the original d3des.c) reads key bytes least-significant bit first, so
 * each key byte is bit-reversed before the standard key schedule.
 *
 * Deliberately simple (bit arrays, allocation per call): it runs once per
 * authentication attempt, never in a hot path. Not a general-purpose cipher: no modes
 * and no constant-time guarantees (VNC Authentication is weak by design anyway).
 */

const IP: readonly number[] = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
  62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
  61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

const FP: readonly number[] = (() => {
  const fp = new Array<number>(64).fill(0);
  for (let i = 0; i < 64; i++) fp[IP[i]! - 1] = i + 1;
  return fp;
})();

const E: readonly number[] = [
  32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
  16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
];

const P: readonly number[] = [
  16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
  2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];

const PC1: readonly number[] = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
  10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
  14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];

const PC2: readonly number[] = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

const SHIFTS: readonly number[] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/** S-boxes, each 4 rows of 16. */
const S: readonly (readonly number[])[] = [
  [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
    4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
  [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
    0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
  [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
    13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
  [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
    10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
  [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
    4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
  [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
    9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
  [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
    1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
  [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
    7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
];

/** Bytes -> bits, most significant bit first (bit 1 of FIPS numbering is index 0). */
function toBits(bytes: Uint8Array): Uint8Array {
  const bits = new Uint8Array(bytes.length * 8);
  for (let i = 0; i < bits.length; i++) bits[i] = (bytes[i >>> 3]! >>> (7 - (i & 7))) & 1;
  return bits;
}

function fromBits(bits: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(bits.length >>> 3);
  for (let i = 0; i < bits.length; i++) bytes[i >>> 3]! |= bits[i]! << (7 - (i & 7));
  return bytes;
}

function permute(src: Uint8Array, table: readonly number[]): Uint8Array {
  const out = new Uint8Array(table.length);
  for (let i = 0; i < table.length; i++) out[i] = src[table[i]! - 1]!;
  return out;
}

/** The 16 round keys (48 bits each) of an 8-byte key (parity bits ignored). */
function keySchedule(key: Uint8Array): Uint8Array[] {
  const cd = permute(toBits(key), PC1);
  let c = cd.subarray(0, 28);
  let d = cd.subarray(28, 56);
  const keys: Uint8Array[] = [];
  const joined = new Uint8Array(56);
  for (const shift of SHIFTS) {
    c = Uint8Array.from([...c.subarray(shift), ...c.subarray(0, shift)]);
    d = Uint8Array.from([...d.subarray(shift), ...d.subarray(0, shift)]);
    joined.set(c, 0);
    joined.set(d, 28);
    keys.push(permute(joined, PC2));
  }
  return keys;
}

function feistel(r: Uint8Array, k: Uint8Array): Uint8Array {
  const x = permute(r, E);
  for (let i = 0; i < 48; i++) x[i]! ^= k[i]!;
  const out = new Uint8Array(32);
  for (let s = 0; s < 8; s++) {
    const b = x.subarray(s * 6, s * 6 + 6);
    const row = (b[0]! << 1) | b[5]!;
    const col = (b[1]! << 3) | (b[2]! << 2) | (b[3]! << 1) | b[4]!;
    const v = S[s]![row * 16 + col]!;
    for (let j = 0; j < 4; j++) out[s * 4 + j] = (v >>> (3 - j)) & 1;
  }
  return permute(out, P);
}

function desBlock(key: Uint8Array, block: Uint8Array, decrypt: boolean): Uint8Array {
  if (key.length !== 8 || block.length !== 8) throw new RangeError('des: key and block must be 8 bytes');
  const keys = keySchedule(key);
  const bits = permute(toBits(block), IP);
  let l: Uint8Array = bits.slice(0, 32);
  let r: Uint8Array = bits.slice(32, 64);
  for (let round = 0; round < 16; round++) {
    const f = feistel(r, keys[decrypt ? 15 - round : round]!);
    for (let i = 0; i < 32; i++) f[i]! ^= l[i]!;
    l = r;
    r = f;
  }
  const pre = new Uint8Array(64);
  pre.set(r, 0); // the final swap: R16 L16
  pre.set(l, 32);
  return fromBits(permute(pre, FP));
}

/** DES-encrypts one 8-byte block with an 8-byte key (FIPS 46-3 bit order). */
export function desEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return desBlock(key, block, false);
}

/** DES-decrypts one 8-byte block with an 8-byte key (FIPS 46-3 bit order). */
export function desDecryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return desBlock(key, block, true);
}

/** Reverses the bit order of a byte (VNC's d3des key convention). */
function reverseBits(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) r |= ((b >>> i) & 1) << (7 - i);
  return r;
}

/**
 * The DES key VNC Authentication derives from a password: its first 8 characters as
 * Latin-1 bytes (characters above U+00FF become '?'), zero-padded, each byte bit-reversed.
 */
export function vncAuthKey(password: string): Uint8Array {
  const key = new Uint8Array(8);
  for (let i = 0; i < 8 && i < password.length; i++) {
    const c = password.charCodeAt(i);
    key[i] = reverseBits(c > 0xff ? 0x3f : c);
  }
  return key;
}

/** The 16-byte response to a VNC Authentication challenge (RFC 6143 section 7.2.2). */
export function vncAuthResponse(password: string, challenge: Uint8Array): Uint8Array {
  if (challenge.length !== 16) throw new RangeError('vncAuthResponse: the challenge is 16 bytes');
  const key = vncAuthKey(password);
  const out = new Uint8Array(16);
  out.set(desEncryptBlock(key, challenge.subarray(0, 8)), 0);
  out.set(desEncryptBlock(key, challenge.subarray(8, 16)), 8);
  return out;
}
