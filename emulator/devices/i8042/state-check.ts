/**
 * Small validators for untrusted snapshot data (`loadState` input): each returns the
 * checked value or throws a descriptive Error naming the device and field. Local to this
 * device folder so the device depends on nothing but the shared contracts.
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

/** A nullable finite number field (e.g. a saved timer deadline). */
export function numOrNull(where: string, s: Record<string, unknown>, key: string): number | null {
  const x = s[key];
  if (x === null) return null;
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${where}.${key}: expected a number or null`);
  return x;
}
