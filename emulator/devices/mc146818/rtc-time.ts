/**
 * Calendar and register-format conversions for the MC146818 time registers: BCD or
 * binary (register B DM), 12- or 24-hour (register B 24/12, PM flag in hour bit 7).
 *
 * Follows: Motorola MC146818A datasheet, "Time, Calendar and Alarm Locations" (table 3:
 * data mode ranges). The calendar uses proleptic Gregorian UTC arithmetic (Date.UTC and
 * getUTC* on given numbers; the wall clock is never read).
 * Leaves out: daylight-saving adjustment (register B DSE is stored but has no effect,
 * as in QEMU).
 */

/** Broken-down time as the RTC registers hold it (values, not register encodings). */
export interface RtcFields {
  sec: number;
  min: number;
  /** 0-23. */
  hour: number;
  /** 1 = Sunday ... 7 = Saturday. */
  wday: number;
  mday: number;
  /** 1-12. */
  month: number;
  /** Full year, e.g. 2026. */
  year: number;
}

/** Seconds since the Unix epoch -> fields. */
export function fieldsFromEpoch(sec: number): RtcFields {
  const d = new Date(sec * 1000);
  return {
    sec: d.getUTCSeconds(), min: d.getUTCMinutes(), hour: d.getUTCHours(), wday: d.getUTCDay() + 1,
    mday: d.getUTCDate(), month: d.getUTCMonth() + 1, year: d.getUTCFullYear(),
  };
}

/** Fields -> seconds since the Unix epoch (out-of-range fields roll over like Date.UTC). */
export function epochFromFields(f: RtcFields): number {
  const ms = Date.UTC(f.year, f.month - 1, f.mday, f.hour, f.min, f.sec);
  // Date.UTC maps years 0-99 to 1900-1999; fix up for a guest that writes century 0.
  const fixed = f.year >= 0 && f.year < 100 ? new Date(ms).setUTCFullYear(f.year) : ms;
  return Number.isFinite(fixed) ? Math.floor(fixed / 1000) : 0;
}

/** Encodes 0-99 in BCD or binary. */
export function toReg(v: number, binary: boolean): number {
  return binary ? v & 0xff : (((Math.floor(v / 10) % 10) << 4) | (v % 10)) & 0xff;
}

/** Decodes a register byte in BCD or binary (bad BCD digits decode arithmetically, like QEMU). */
export function fromReg(r: number, binary: boolean): number {
  return binary ? r : ((r >> 4) & 0x0f) * 10 + (r & 0x0f);
}

/** Encodes an hour (0-23) for the hour or hour-alarm register. */
export function hourToReg(hour: number, binary: boolean, h24: boolean): number {
  if (h24) return toReg(hour, binary);
  const pm = hour >= 12;
  const h12 = hour % 12 === 0 ? 12 : hour % 12;
  return toReg(h12, binary) | (pm ? 0x80 : 0);
}

/** Decodes the hour register to 0-23. */
export function hourFromReg(r: number, binary: boolean, h24: boolean): number {
  if (h24) return fromReg(r, binary);
  const h = fromReg(r & 0x7f, binary) % 12;
  return h + (r & 0x80 ? 12 : 0);
}
