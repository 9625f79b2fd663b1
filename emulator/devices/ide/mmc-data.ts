/**
 * Builders for the data the ATAPI CD-ROM returns to MMC commands: pure functions from the
 * drive's state to big-endian byte layouts, kept apart from the command state machine.
 *
 * Layouts: INQUIRY (SPC-3 6.4.2, standard data, 36 bytes), REQUEST SENSE fixed format
 * (SPC-3 4.5.3), READ CAPACITY (MMC-5 6.23), READ TOC/PMA/ATIP formats 0000b (TOC),
 * 0001b (session information) and 0010b (full/raw TOC) (MMC-5 6.26), MODE SENSE(10)
 * with the mode parameter header of SPC-3 7.4.3 and pages 01h (read/write error
 * recovery, MMC-5 7.3), 0Dh (CD device parameters, SFF-8020i 10.8.4), 0Eh (CD audio
 * control, SFF-8020i 10.8.5), 2Ah (capabilities and mechanical status, MMC-5 7.10 /
 * SFF-8020i 10.8.6, QEMU's values), 3Fh (all of them); GET CONFIGURATION (MMC-5 5.2:
 * feature header, Profile List 0000h, Core 0001h, Morphing 0002h, Removable Medium
 * 0003h, Random Readable 0010h), READ DISC INFORMATION (MMC-5 6.22, a finalized
 * single-session disc as QEMU reports it), MECHANISM STATUS (MMC-5 6.11), READ
 * SUB-CHANNEL (MMC-2 6.1.21: header, current position, MCN, ISRC, all "not valid").
 *
 * Left out: vital product data pages, the PMA/ATIP/CD-TEXT TOC formats, DVD structures,
 * audio play state (READ SUB-CHANNEL always reports "no current audio status").
 */

/** Sectors beyond which a medium is reported as a DVD: 80 minutes of CD (QEMU CD_MAX_SECTORS). */
export const CD_MAX_SECTORS = 80 * 60 * 75;
/** CD/DVD logical block size. */
export const CD_SECTOR_BYTES = 2048;

/** MMC profile numbers (MMC-5 table 89). */
export const PROFILE_NONE = 0x0000;
export const PROFILE_CD_ROM = 0x0008;
export const PROFILE_DVD_ROM = 0x0010;

/** Mode page codes. */
export const MODE_PAGE_RW_ERROR_RECOVERY = 0x01;
export const MODE_PAGE_CD_DEVICE_PARAMETERS = 0x0d;
export const MODE_PAGE_CD_AUDIO_CONTROL = 0x0e;
export const MODE_PAGE_CAPABILITIES = 0x2a;
export const MODE_PAGE_ALL = 0x3f;

/** Vendor, product and revision strings of INQUIRY. */
export interface InquiryStrings {
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
}

function putAscii(buf: Uint8Array, at: number, len: number, text: string): void {
  const t = text.padEnd(len, ' ');
  for (let i = 0; i < len; i++) buf[at + i] = t.charCodeAt(i) & 0x7f;
}

function put16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}

function put32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 24) & 0xff;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

/** Big-endian 16-bit field of a CDB. */
export function be16(cdb: Uint8Array, at: number): number {
  return (cdb[at]! << 8) | cdb[at + 1]!;
}

/** Big-endian 32-bit field of a CDB. */
export function be32(cdb: Uint8Array, at: number): number {
  return ((cdb[at]! << 24) | (cdb[at + 1]! << 16) | (cdb[at + 2]! << 8) | cdb[at + 3]!) >>> 0;
}

/** Writes an address as M, S, F bytes; LBA 0 is 00:02:00 (the 150-frame pregap). */
function putMsf(buf: Uint8Array, at: number, lba: number): void {
  const f = lba + 150;
  buf[at] = Math.floor(f / (60 * 75)) & 0xff;
  buf[at + 1] = Math.floor(f / 75) % 60;
  buf[at + 2] = f % 75;
}

/** A TOC address field: MSF (reserved, M, S, F) or a 32-bit LBA. */
function putAddress(buf: Uint8Array, at: number, lba: number, msf: boolean): void {
  if (msf) { buf[at] = 0; putMsf(buf, at + 1, lba); } else put32(buf, at, lba);
}

/** Standard INQUIRY data (36 bytes) of a removable CD-ROM. */
export function inquiryData(s: InquiryStrings): Uint8Array {
  const b = new Uint8Array(36);
  b[0] = 0x05; // peripheral device type: CD/DVD
  b[1] = 0x80; // removable medium
  b[2] = 0x00; // version: no standard claimed (ATAPI)
  b[3] = 0x21; // ATAPI transport version 2, response data format 1
  b[4] = 36 - 5; // additional length
  putAscii(b, 8, 8, s.vendor);
  putAscii(b, 16, 16, s.product);
  putAscii(b, 32, 4, s.revision);
  return b;
}

/** Fixed-format sense data (18 bytes). */
export function senseData(key: number, asc: number, ascq: number): Uint8Array {
  const b = new Uint8Array(18);
  b[0] = 0xf0; // valid, current error, fixed format (QEMU sets Valid)
  b[2] = key & 0x0f;
  b[7] = 18 - 8; // additional sense length
  b[12] = asc;
  b[13] = ascq;
  return b;
}

/** READ CAPACITY data: last LBA and block length. */
export function readCapacityData(sectors: number): Uint8Array {
  const b = new Uint8Array(8);
  put32(b, 0, Math.max(0, sectors - 1));
  put32(b, 4, CD_SECTOR_BYTES);
  return b;
}

/**
 * READ TOC/PMA/ATIP data of a single-track data disc of `sectors` blocks, or null when
 * the request is invalid (unknown format, starting track beyond the lead-out).
 */
export function tocData(format: number, msf: boolean, startTrack: number, sectors: number): Uint8Array | null {
  switch (format) {
    case 0: {
      if (startTrack > 1 && startTrack !== 0xaa) return null;
      const descs: Array<{ track: number; lba: number }> = [];
      if (startTrack <= 1) descs.push({ track: 1, lba: 0 });
      descs.push({ track: 0xaa, lba: sectors });
      const b = new Uint8Array(4 + 8 * descs.length);
      put16(b, 0, b.length - 2);
      b[2] = 1; // first track
      b[3] = 1; // last track
      descs.forEach((d, i) => {
        const at = 4 + 8 * i;
        // ADR 1 (Q sub-channel position), control 4 (data track); QEMU gives the lead-out 16h.
        b[at + 1] = d.track === 0xaa ? 0x16 : 0x14;
        b[at + 2] = d.track;
        putAddress(b, at + 4, d.lba, msf);
      });
      return b;
    }
    case 1: {
      const b = new Uint8Array(12);
      put16(b, 0, 10);
      // First and last complete session 1; the track descriptor stays zero as in QEMU.
      b[2] = 1;
      b[3] = 1;
      return b;
    }
    case 2: {
      // Full TOC of session 1: A0 (first track), A1 (last track), A2 (lead-out), track 1.
      const entries: Array<{ point: number; p: [number, number, number] }> = [];
      const leadOut = new Uint8Array(3);
      putMsf(leadOut, 0, sectors);
      const track1 = new Uint8Array(3);
      putMsf(track1, 0, 0);
      entries.push({ point: 0xa0, p: [1, 0x00, 0] }); // first track 1, disc type CD-DA/CD-ROM
      entries.push({ point: 0xa1, p: [1, 0, 0] });
      entries.push({ point: 0xa2, p: [leadOut[0]!, leadOut[1]!, leadOut[2]!] });
      entries.push({ point: 0x01, p: [track1[0]!, track1[1]!, track1[2]!] });
      const b = new Uint8Array(4 + 11 * entries.length);
      put16(b, 0, b.length - 2);
      b[2] = 1;
      b[3] = 1;
      entries.forEach((e, i) => {
        const at = 4 + 11 * i;
        b[at] = 1; // session
        b[at + 1] = 0x14;
        b[at + 3] = e.point;
        b[at + 8] = e.p[0];
        b[at + 9] = e.p[1];
        b[at + 10] = e.p[2];
      });
      return b;
    }
    default:
      return null;
  }
}

function modePage(code: number, changeable: boolean, locked: boolean): Uint8Array {
  switch (code) {
    case MODE_PAGE_RW_ERROR_RECOVERY: {
      const p = new Uint8Array(8);
      p[0] = code; p[1] = 6;
      if (!changeable) p[3] = 0x05; // read retry count
      return p;
    }
    case MODE_PAGE_CD_DEVICE_PARAMETERS: {
      const p = new Uint8Array(8);
      p[0] = code; p[1] = 6;
      if (!changeable) { put16(p, 4, 60); put16(p, 6, 75); } // S units per M, F units per S
      return p;
    }
    case MODE_PAGE_CD_AUDIO_CONTROL: {
      const p = new Uint8Array(16);
      p[0] = code; p[1] = 14;
      if (!changeable) {
        p[2] = 0x04; // Immed
        p[8] = 0x01; p[9] = 0xff; // port 0: channel 0, full volume
        p[10] = 0x02; p[11] = 0xff; // port 1: channel 1
      }
      return p;
    }
    default: {
      const p = new Uint8Array(20);
      p[0] = MODE_PAGE_CAPABILITIES; p[1] = 18;
      if (changeable) return p;
      p[2] = 0x3b; // reads CD-R, CD-RW, method 2, DVD-ROM, DVD-R (QEMU)
      p[4] = 0x71; // audio play, composite, mode 2 form 1 and 2
      p[5] = 3 << 5; // QEMU's value
      p[6] = 0x01 | 0x08 | 0x20 | (locked ? 0x02 : 0); // lock supported, eject, tray loader; lock state
      put16(p, 8, 704); // maximum read speed (kB/s, 4x)
      put16(p, 10, 2); // volume levels
      put16(p, 12, 2048); // buffer size (KiB)
      put16(p, 14, 704); // current read speed
      return p;
    }
  }
}

/**
 * MODE SENSE(10) data for `pageCode` (PC = `pageControl`), or 'invalid' for an unknown
 * page and 'saved' for saved values (not supported).
 */
export function modeSenseData(pageCode: number, pageControl: number, locked: boolean, mediumPresent: boolean):
Uint8Array | 'invalid' | 'saved' {
  if (pageControl === 3) return 'saved';
  const changeable = pageControl === 1;
  let pages: Uint8Array[];
  switch (pageCode) {
    case MODE_PAGE_RW_ERROR_RECOVERY: case MODE_PAGE_CD_DEVICE_PARAMETERS: case MODE_PAGE_CD_AUDIO_CONTROL:
    case MODE_PAGE_CAPABILITIES:
      pages = [modePage(pageCode, changeable, locked)];
      break;
    case MODE_PAGE_ALL:
      pages = [MODE_PAGE_RW_ERROR_RECOVERY, MODE_PAGE_CD_DEVICE_PARAMETERS, MODE_PAGE_CD_AUDIO_CONTROL,
        MODE_PAGE_CAPABILITIES].map((c) => modePage(c, changeable, locked));
      break;
    default:
      return 'invalid';
  }
  const len = 8 + pages.reduce((a, p) => a + p.length, 0);
  const b = new Uint8Array(len);
  put16(b, 0, len - 2);
  b[2] = mediumPresent ? 0x01 : 0x70; // medium type: 120 mm data CD, or "door closed, no disc" (QEMU)
  let at = 8;
  for (const p of pages) { b.set(p, at); at += p.length; }
  return b;
}

/** The current profile for a medium of `sectors` blocks (null: no medium). */
export function currentProfile(sectors: number | null): number {
  if (sectors === null) return PROFILE_NONE;
  return sectors > CD_MAX_SECTORS ? PROFILE_DVD_ROM : PROFILE_CD_ROM;
}

/**
 * GET CONFIGURATION data for request type `rt` (0: all, 1: current, 2: the one feature)
 * starting at `startFeature`; null for an invalid request type.
 */
export function configurationData(rt: number, startFeature: number, sectors: number | null): Uint8Array | null {
  if (rt > 2) return null;
  const profile = currentProfile(sectors);
  const media = sectors !== null;
  const features: Array<{ code: number; current: boolean; bytes: Uint8Array }> = [];
  const feature = (code: number, version: number, current: boolean, data: number[]): void => {
    const f = new Uint8Array(4 + data.length);
    put16(f, 0, code);
    f[2] = (version << 2) | 0x02 /* persistent */ | (current ? 1 : 0);
    if (code === 0x0010) f[2] &= ~0x02; // Random Readable is not persistent
    f[3] = data.length;
    f.set(data, 4);
    features.push({ code, current, bytes: f });
  };
  feature(0x0000, 0, true, [
    PROFILE_DVD_ROM >> 8, PROFILE_DVD_ROM & 0xff, profile === PROFILE_DVD_ROM ? 1 : 0, 0,
    PROFILE_CD_ROM >> 8, PROFILE_CD_ROM & 0xff, profile === PROFILE_CD_ROM ? 1 : 0, 0,
  ]);
  feature(0x0001, 2, true, [0, 0, 0, 2 /* ATAPI */, 0x01 /* DBE */, 0, 0, 0]);
  feature(0x0002, 1, true, [0x02 /* OCEvent */, 0, 0, 0]);
  feature(0x0003, 0, true, [(1 << 5) /* tray */ | 0x08 /* eject */ | 0x01 /* lock */, 0, 0, 0]);
  feature(0x0010, 0, media, [0, 0, CD_SECTOR_BYTES >> 8, 0, 0, profile === PROFILE_DVD_ROM ? 16 : 1, 0, 0]);
  const chosen = features.filter((f) => (rt === 2 ? f.code === startFeature : f.code >= startFeature)
    && (rt !== 1 || f.current));
  const len = 8 + chosen.reduce((a, f) => a + f.bytes.length, 0);
  const b = new Uint8Array(len);
  put32(b, 0, len - 4);
  put16(b, 6, profile);
  let at = 8;
  for (const f of chosen) { b.set(f.bytes, at); at += f.bytes.length; }
  return b;
}

/** READ DISC INFORMATION standard data (34 bytes) of a finalized single-session disc. */
export function discInformationData(): Uint8Array {
  const b = new Uint8Array(34);
  put16(b, 0, 32);
  b[2] = 0x0e; // last session complete, disc complete
  b[3] = 1; // first track on disc
  b[4] = 1; // sessions
  b[5] = 1; // first track in last session
  b[6] = 1; // last track in last session
  b[7] = 0x20; // unrestricted use
  b[8] = 0x00; // disc type: CD-DA or CD-ROM
  return b;
}

/** MECHANISM STATUS header (8 bytes, no changer slots). */
export function mechanismStatusData(trayOpen: boolean): Uint8Array {
  const b = new Uint8Array(8);
  b[1] = trayOpen ? 0x10 : 0x00; // mechanism idle; door open bit
  return b;
}

/** READ SUB-CHANNEL data, or null for an unknown format. */
export function subchannelData(subQ: boolean, format: number, msf: boolean): Uint8Array | null {
  if (!subQ) {
    const b = new Uint8Array(4);
    b[1] = 0x15; // no current audio status
    return b;
  }
  switch (format) {
    case 1: {
      const b = new Uint8Array(16);
      b[1] = 0x15;
      put16(b, 2, 12);
      b[4] = 1;
      b[5] = 0x14;
      b[6] = 1; // track
      b[7] = 1; // index
      putAddress(b, 8, 0, msf);
      putAddress(b, 12, 0, msf);
      if (msf) { b[14] = 0; b[15] = 0; b[13] = 0; } // relative address 00:00:00
      return b;
    }
    case 2: case 3: {
      const b = new Uint8Array(24);
      b[1] = 0x15;
      put16(b, 2, 20);
      b[4] = format;
      if (format === 3) { b[5] = 0x14; b[6] = 1; }
      return b; // MCVal / TCVal clear: no catalogue number, no ISRC
    }
    default:
      return null;
  }
}

/**
 * INQUIRY vital product data (SPC-3 7.6) as QEMU's ATAPI drive returns it (hw/ide/atapi.c
 * cmd_inquiry): page 00h lists 00h and 83h; page 83h (device identification) holds an
 * ASCII vendor-specific descriptor with the serial number and, when the allocation
 * length leaves room for it, a T10 vendor descriptor "ATA" + model + serial. An
 * allocation length too small for the first descriptor is 'short' (QEMU reports DATA
 * PHASE ERROR); an unknown page is null.
 */
export function vpdPage(page: number, allocationLength: number, serial: string, model: string): Uint8Array | 'short' | null {
  const b: number[] = [0x05, page, 0, 0];
  const ascii = (text: string, len: number): number[] => [...text.padEnd(len, ' ').slice(0, len)].map((c) => c.charCodeAt(0) & 0x7f);
  switch (page) {
    case 0x00:
      b.push(0x00, 0x83);
      break;
    case 0x83:
      if (allocationLength < 4 + 24) return 'short';
      b.push(0x02, 0x00, 0x00, 20, ...ascii(serial, 20));
      if (allocationLength >= b.length + 72) b.push(0x02, 0x01, 0x00, 68, ...ascii('ATA', 8), ...ascii(model, 40), ...ascii(serial, 20));
      break;
    default:
      return null;
  }
  b[3] = b.length - 4;
  return Uint8Array.from(b);
}
