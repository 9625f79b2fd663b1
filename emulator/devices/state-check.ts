/**
 * Small validators for untrusted snapshot data (`loadState` input), shared by the devices:
 * each returns the checked value or throws a descriptive Error naming the device and field
 * (ARCHITECTURE principle 5: validate before touching live objects).
 */

/** A plain object (not null, not an array). */
export function obj(where: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected an object`);
  return v as Record<string, unknown>;
}

/** Checks `s.v === version`. */
export function version(where: string, s: Record<string, unknown>, v: number): void {
  if (s.v !== v) throw new Error(`${where}: unsupported state version ${String(s.v)} (expected ${v})`);
}

/** An integer field in [min, max]. */
export function int(where: string, s: Record<string, unknown>, key: string, min: number, max: number): number {
  const x = s[key];
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    throw new Error(`${where}.${key}: expected an integer in [${min}, ${max}], got ${JSON.stringify(x)}`);
  }
  return x;
}

/** A finite number field in [min, max]. */
export function num(where: string, s: Record<string, unknown>, key: string, min: number, max: number): number {
  const x = s[key];
  if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max) {
    throw new Error(`${where}.${key}: expected a number in [${min}, ${max}], got ${JSON.stringify(x)}`);
  }
  return x;
}

/** A boolean field. */
export function bool(where: string, s: Record<string, unknown>, key: string): boolean {
  const x = s[key];
  if (typeof x !== 'boolean') throw new Error(`${where}.${key}: expected a boolean`);
  return x;
}

/** An array of integers in [min, max], with a length in [minLen, maxLen]. */
export function ints(where: string, s: Record<string, unknown>, key: string, min: number, max: number, minLen: number, maxLen: number): number[] {
  const x = s[key];
  if (!Array.isArray(x) || x.length < minLen || x.length > maxLen) {
    throw new Error(`${where}.${key}: expected an array of ${minLen}..${maxLen} integers`);
  }
  for (const e of x) {
    if (typeof e !== 'number' || !Number.isInteger(e) || e < min || e > max) {
      throw new Error(`${where}.${key}: element ${JSON.stringify(e)} not an integer in [${min}, ${max}]`);
    }
  }
  return x as number[];
}

/** A lower-case hex string of at most `maxBytes` bytes, decoded. */
export function hexBytes(where: string, s: Record<string, unknown>, key: string, maxBytes: number): Uint8Array {
  const x = s[key];
  if (typeof x !== 'string' || x.length % 2 !== 0 || x.length > maxBytes * 2 || !/^[0-9a-f]*$/.test(x)) {
    throw new Error(`${where}.${key}: expected a hex string of at most ${maxBytes} bytes`);
  }
  const out = new Uint8Array(x.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(x.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex encoding of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** A nullable finite number field (e.g. a saved timer deadline). */
export function numOrNull(where: string, s: Record<string, unknown>, key: string): number | null {
  const x = s[key];
  if (x === null) return null;
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${where}.${key}: expected a number or null`);
  return x;
}
