/**
 * Mode parameters of a direct-access device (SPC-4 §7.5): MODE SENSE(6)/(10) data with
 * the mode parameter headers of §7.5.5 (device-specific parameter WP and DPOFUA, SBC-3
 * §6.4.1), the short LBA mode parameter block descriptor (SBC-3 §6.4.2, omitted with
 * DBD), and pages 01h read-write error recovery (SBC-3 §6.4.9), 08h caching (SBC-3
 * §6.4.5, WCE changeable) and 0Ah control (SPC-4 §7.5.8); 3Fh returns all of them.
 * MODE SELECT parameter lists are parsed for the caching page's WCE bit.
 *
 * The CD-ROM's pages are built by `../ide/mmc-data.ts` in the MODE SENSE(10) layout;
 * `modeSense10To6` turns such data into the MODE SENSE(6) layout.
 *
 * Left out: subpages, the long LBA block descriptor (LLBAA is ignored: the short one is
 * returned, which SPC-4 allows), saved values, geometry pages.
 */
import { be16, putBe } from './scsi-cdb.js';

/** Mode page codes. */
export const MODE_PAGE_RW_ERROR_RECOVERY = 0x01;
export const MODE_PAGE_CACHING = 0x08;
export const MODE_PAGE_CONTROL = 0x0a;
export const MODE_PAGE_ALL = 0x3f;

/** Page control values (SPC-4 §6.11.1 table 167). */
export const PC_CURRENT = 0;
export const PC_CHANGEABLE = 1;
export const PC_DEFAULT = 2;
export const PC_SAVED = 3;

/** What the disk's mode data depends on. */
export interface DiskModeState {
  readonly blocks: number;
  readonly blockSize: number;
  readonly readOnly: boolean;
  /** Write cache enabled (caching page WCE). */
  readonly writeCache: boolean;
}

/** The fields of a MODE SENSE CDB. */
export interface ModeSenseRequest {
  /** MODE SENSE(10) rather than (6). */
  readonly ten: boolean;
  /** DBD: no block descriptors. */
  readonly dbd: boolean;
  readonly pageCode: number;
  readonly subpage: number;
  readonly pageControl: number;
}

function diskPage(code: number, pc: number, s: DiskModeState): Uint8Array {
  const changeable = pc === PC_CHANGEABLE;
  switch (code) {
    case MODE_PAGE_RW_ERROR_RECOVERY: {
      const p = new Uint8Array(12);
      p[0] = code; p[1] = 10;
      if (!changeable) p[2] = 0x80; // AWRE
      return p;
    }
    case MODE_PAGE_CACHING: {
      const p = new Uint8Array(20);
      p[0] = code; p[1] = 18;
      const wce = changeable || pc === PC_DEFAULT || s.writeCache;
      if (wce) p[2] = 0x04;
      return p;
    }
    default: {
      const p = new Uint8Array(12);
      p[0] = MODE_PAGE_CONTROL; p[1] = 10;
      if (!changeable) p[3] = 0x10; // queue algorithm modifier 1: unrestricted reordering
      return p;
    }
  }
}

/**
 * MODE SENSE data of a disk, or 'saved' (saved values are not supported: SAVING
 * PARAMETERS NOT SUPPORTED) or 'invalid' (unknown page or subpage: INVALID FIELD IN CDB).
 */
export function diskModeSense(r: ModeSenseRequest, s: DiskModeState): Uint8Array | 'saved' | 'invalid' {
  if (r.pageControl === PC_SAVED) return 'saved';
  if (r.subpage !== 0 && !(r.pageCode === MODE_PAGE_ALL && r.subpage === 0xff)) return 'invalid';
  let codes: number[];
  switch (r.pageCode) {
    case MODE_PAGE_RW_ERROR_RECOVERY: case MODE_PAGE_CACHING: case MODE_PAGE_CONTROL: codes = [r.pageCode]; break;
    case MODE_PAGE_ALL: codes = [MODE_PAGE_RW_ERROR_RECOVERY, MODE_PAGE_CACHING, MODE_PAGE_CONTROL]; break;
    default: return 'invalid';
  }
  const pages = codes.map((c) => diskPage(c, r.pageControl, s));
  const headerLen = r.ten ? 8 : 4;
  const bdLen = r.dbd ? 0 : 8;
  const total = headerLen + bdLen + pages.reduce((a, p) => a + p.length, 0);
  const b = new Uint8Array(total);
  const deviceSpecific = (s.readOnly ? 0x80 : 0) | 0x10; // WP, DPOFUA
  if (r.ten) {
    putBe(b, 0, 2, total - 2);
    b[3] = deviceSpecific;
    putBe(b, 6, 2, bdLen);
  } else {
    b[0] = total - 1;
    b[2] = deviceSpecific;
    b[3] = bdLen;
  }
  let at = headerLen;
  if (bdLen) {
    putBe(b, at, 4, Math.min(s.blocks, 0xffff_ffff));
    putBe(b, at + 5, 3, s.blockSize);
    at += bdLen;
  }
  for (const p of pages) { b.set(p, at); at += p.length; }
  return b;
}

/**
 * Converts MODE SENSE(10) data (8-byte header, SPC-4 §7.5.5 table 455) to the
 * MODE SENSE(6) layout (4-byte header, table 454), keeping block descriptors and pages.
 */
export function modeSense10To6(data10: Uint8Array): Uint8Array {
  const rest = data10.subarray(8);
  const b = new Uint8Array(4 + rest.length);
  b[0] = Math.min(0xff, b.length - 1);
  b[1] = data10[2] ?? 0;
  b[2] = data10[3] ?? 0;
  b[3] = data10[7] ?? 0;
  b.set(rest, 4);
  return b;
}

/** What a MODE SELECT parameter list asks for, or why it is refused. */
export type ModeSelectResult = { readonly writeCache?: boolean } | 'length' | 'invalid';

/**
 * Parses a MODE SELECT(6)/(10) parameter list (SPC-4 §6.9/§6.10, header §7.5.5): skips
 * the header and block descriptors and walks the pages; a caching page sets the WCE
 * request. Truncated structures are 'length' (PARAMETER LIST LENGTH ERROR); a page
 * other than 01h/08h/0Ah is 'invalid' (INVALID FIELD IN PARAMETER LIST).
 */
export function parseModeSelect(ten: boolean, list: Uint8Array): ModeSelectResult {
  if (list.length === 0) return {};
  const headerLen = ten ? 8 : 4;
  if (list.length < headerLen) return 'length';
  const bdLen = ten ? be16(list, 6) : list[3]!;
  let at = headerLen + bdLen;
  if (at > list.length) return 'length';
  let writeCache: boolean | undefined;
  while (at < list.length) {
    if (at + 2 > list.length) return 'length';
    const code = list[at]! & 0x3f;
    const spf = (list[at]! & 0x40) !== 0;
    const len = spf ? 4 + be16(list, at + 2) : 2 + list[at + 1]!;
    if (at + len > list.length) return 'length';
    if (spf) return 'invalid';
    if (code === MODE_PAGE_CACHING) writeCache = (list[at + 2]! & 0x04) !== 0;
    else if (code !== MODE_PAGE_RW_ERROR_RECOVERY && code !== MODE_PAGE_CONTROL) return 'invalid';
    at += len;
  }
  return writeCache === undefined ? {} : { writeCache };
}
