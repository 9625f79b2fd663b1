/**
 * IDENTIFY DEVICE and IDENTIFY PACKET DEVICE data (ATA/ATAPI-6 8.15 table 27 and 8.16
 * table 29), the CHS geometry guess and the transfer-mode selection of SET FEATURES 03h
 * (ATA-6 8.36.10).
 *
 * Geometry follows QEMU hw/block/hd-geometry.c (guess_chs_for_size): 16 heads, 63
 * sectors per track, cylinders = sectors / 1008 clamped to 2..16383. QEMU's guess from an
 * existing partition table (guess_disk_lchs) is left out: the geometry depends on the
 * disk size only, so it is stable across guest installs. The word values follow QEMU
 * hw/ide/core.c (ide_identify / ide_atapi_identify) where ATA-6 leaves a choice, and the
 * integrity word 255 (ATA-6 8.15.61) is filled in.
 *
 * Left out: single-word DMA (word 62 reports no modes), SMART, security, HPA, NCQ,
 * World Wide Name, the ATA-8 words beyond 127.
 */
import { ATA_MAX_MULT_SECTORS } from './ide-constants.js';
import { int, obj } from '../state-check.js';

/** A CHS geometry. */
export interface ChsGeometry {
  readonly cylinders: number;
  readonly heads: number;
  readonly sectorsPerTrack: number;
}

/** QEMU's size-based geometry guess (16 heads, 63 sectors, cylinders clamped to 2..16383). */
export function guessGeometry(totalSectors: number): ChsGeometry {
  const cylinders = Math.min(16383, Math.max(2, Math.floor(totalSectors / (16 * 63))));
  return { cylinders, heads: 16, sectorsPerTrack: 63 };
}

/** Writes `text` as an ATA string: space padded, two characters per word, first in the high byte. */
export function putAtaString(words: Uint16Array, first: number, lengthWords: number, text: string): void {
  const chars = text.padEnd(lengthWords * 2, ' ').slice(0, lengthWords * 2);
  for (let i = 0; i < lengthWords; i++) {
    const hi = chars.charCodeAt(2 * i) & 0x7f;
    const lo = chars.charCodeAt(2 * i + 1) & 0x7f;
    words[first + i] = (hi << 8) | lo;
  }
}

/** Reads an ATA string back (tests, logs). */
export function getAtaString(words: Uint16Array, first: number, lengthWords: number): string {
  let s = '';
  for (let i = 0; i < lengthWords; i++) s += String.fromCharCode(words[first + i]! >> 8, words[first + i]! & 0xff);
  return s.trimEnd();
}

/** Kind of the selected transfer mode. */
export type TransferModeKind = 'pio' | 'mwdma' | 'udma';

/** The transfer mode the host selected with SET FEATURES 03h (default: PIO default mode). */
export class TransferMode {
  kind: TransferModeKind;
  mode: number;

  /** `kind`/`mode`: the power-on selection (PIO 0 unless given). */
  constructor(private readonly initialKind: TransferModeKind = 'pio', private readonly initialMode = 0) {
    this.kind = initialKind;
    this.mode = initialMode;
  }

  /** Applies a SET FEATURES 03h Sector Count value; false when the mode is not supported. */
  select(value: number): boolean {
    const n = value & 0x07;
    switch (value & 0xf8) {
      case 0x00: if (n > 1) return false; this.kind = 'pio'; this.mode = 0; return true;
      case 0x08: if (n > 4) return false; this.kind = 'pio'; this.mode = n; return true;
      case 0x20: if (n > 2) return false; this.kind = 'mwdma'; this.mode = n; return true;
      case 0x40: if (n > 5) return false; this.kind = 'udma'; this.mode = n; return true;
      default: return false;
    }
  }

  /** Back to the power-on default. */
  reset(): void {
    this.kind = this.initialKind;
    this.mode = this.initialMode;
  }

  /** Word 63: MWDMA 0-2 supported, selected mode in bits 10:8. */
  get word63(): number {
    return 0x07 | (this.kind === 'mwdma' ? 0x100 << this.mode : 0);
  }

  /** Word 88: UDMA 0-5 supported, selected mode in bits 13:8. */
  get word88(): number {
    return 0x3f | (this.kind === 'udma' ? 0x100 << this.mode : 0);
  }

  /** Snapshot form. */
  save(): { kind: TransferModeKind; mode: number } {
    return { kind: this.kind, mode: this.mode };
  }

  /** Validates a saved form; returns the apply function. */
  parse(where: string, v: unknown): () => void {
    const s = obj(where, v);
    const kind = s['kind'];
    if (kind !== 'pio' && kind !== 'mwdma' && kind !== 'udma') throw new Error(`${where}.kind: expected pio, mwdma or udma`);
    const mode = int(where, s, 'mode', 0, kind === 'pio' ? 4 : kind === 'mwdma' ? 2 : 5);
    return () => { this.kind = kind; this.mode = mode; };
  }
}

/** Parameters of IDENTIFY DEVICE data. */
export interface AtaIdentifyParams {
  readonly model: string;
  readonly serial: string;
  readonly firmware: string;
  readonly totalSectors: number;
  readonly geometry: ChsGeometry;
  /** Current translation (INITIALIZE DEVICE PARAMETERS). */
  readonly currentHeads: number;
  readonly currentSectorsPerTrack: number;
  /** Current READ/WRITE MULTIPLE block size (0 = disabled). */
  readonly multSectors: number;
  readonly writeCache: boolean;
  readonly transferMode: TransferMode;
}

/** Builds the 256 words of IDENTIFY DEVICE for a hard disk (ATA-6 table 27). */
export function ataIdentify(p: AtaIdentifyParams): Uint8Array {
  const w = new Uint16Array(256);
  const g = p.geometry;
  w[0] = 0x0040; // fixed device, not removable
  w[1] = g.cylinders;
  w[3] = g.heads;
  w[4] = 512 * g.sectorsPerTrack; // retired: unformatted bytes per track
  w[5] = 512; // retired: unformatted bytes per sector
  w[6] = g.sectorsPerTrack;
  putAtaString(w, 10, 10, p.serial);
  w[20] = 3; // retired: buffer type (dual ported, read cache)
  w[21] = 512; // retired: buffer size in sectors
  w[22] = 4; // obsolete: ECC bytes
  putAtaString(w, 23, 4, p.firmware);
  putAtaString(w, 27, 20, p.model);
  w[47] = 0x8000 | ATA_MAX_MULT_SECTORS;
  w[48] = 1; // QEMU: doubleword I/O
  w[49] = (1 << 11) | (1 << 9) | (1 << 8); // IORDY, LBA, DMA supported
  w[50] = 0x4000;
  w[51] = 0x200; // obsolete PIO timing mode 2
  w[52] = 0x200;
  w[53] = 0x07; // words 54-58, 64-70 and 88 are valid
  const curH = p.currentHeads;
  const curS = p.currentSectorsPerTrack;
  const curC = curH > 0 && curS > 0 ? Math.min(g.cylinders, Math.floor(p.totalSectors / (curH * curS)), 0xffff) : 0;
  w[54] = curC;
  w[55] = curH;
  w[56] = curS;
  const chsCapacity = curC * curH * curS;
  w[57] = chsCapacity & 0xffff;
  w[58] = Math.floor(chsCapacity / 0x10000) & 0xffff;
  if (p.multSectors) w[59] = 0x100 | p.multSectors;
  const lba28 = Math.min(p.totalSectors, 0x0fffffff);
  w[60] = lba28 & 0xffff;
  w[61] = Math.floor(lba28 / 0x10000);
  w[63] = p.transferMode.word63;
  w[64] = 0x03; // PIO 3 and 4
  w[65] = 120; // minimum MWDMA cycle time (ns)
  w[66] = 120; // recommended MWDMA cycle time
  w[67] = 120; // minimum PIO cycle time without IORDY
  w[68] = 120; // with IORDY
  w[80] = 0x7e; // ATA-1 .. ATA-6
  w[82] = (1 << 14) | (1 << 5); // NOP, write cache
  w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10); // FLUSH CACHE EXT, FLUSH CACHE, 48-bit address
  w[84] = 1 << 14;
  w[85] = (1 << 14) | (p.writeCache ? 1 << 5 : 0);
  w[86] = (1 << 13) | (1 << 12) | (1 << 10);
  w[87] = 1 << 14;
  w[88] = p.transferMode.word88;
  w[93] = 1 | (1 << 14) | 0x2000; // hardware reset result, 80-conductor cable detected (QEMU)
  let n = p.totalSectors;
  for (let i = 100; i <= 103; i++) { w[i] = n % 0x10000; n = Math.floor(n / 0x10000); }
  return finish(w);
}

/** Parameters of IDENTIFY PACKET DEVICE data. */
export interface AtapiIdentifyParams {
  readonly model: string;
  readonly serial: string;
  readonly firmware: string;
  readonly transferMode: TransferMode;
}

/** Builds the 256 words of IDENTIFY PACKET DEVICE for a CD-ROM (ATA-6 table 29). */
export function atapiIdentify(p: AtapiIdentifyParams): Uint8Array {
  const w = new Uint16Array(256);
  // ATAPI device, CD-ROM (type 5), removable, DRQ within 50 us of PACKET, 12-byte packets.
  w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5);
  putAtaString(w, 10, 10, p.serial);
  w[20] = 3;
  w[21] = 512;
  w[22] = 4;
  putAtaString(w, 23, 4, p.firmware);
  putAtaString(w, 27, 20, p.model);
  w[48] = 1;
  w[49] = (1 << 9) | (1 << 8); // LBA, DMA (QEMU reports no IORDY for its CD-ROM)
  w[53] = 0x07;
  w[62] = 0x07; // single word DMA 0-2 supported (QEMU)
  w[63] = p.transferMode.word63;
  w[64] = 0x03;
  w[65] = 0xb4;
  w[66] = 0xb4;
  w[67] = 0x12c;
  w[68] = 0xb4;
  w[71] = 30; // typical time from PACKET to bus release (ns)
  w[72] = 30; // typical time from SERVICE to BSY cleared
  w[80] = 0x1e; // ATA/ATAPI-1 .. 4 (QEMU)
  // Words 82-87 (command sets), 93 (hardware reset result) and the integrity word are 0,
  // as in QEMU's ide_atapi_identify, which Linux libata and SeaBIOS are used to.
  w[88] = p.transferMode.word88;
  const out = new Uint8Array(512);
  for (let i = 0; i < 256; i++) { out[2 * i] = w[i]! & 0xff; out[2 * i + 1] = w[i]! >> 8; }
  return out;
}

/** Sets the integrity word (signature A5h, checksum making the byte sum 0) and returns bytes. */
function finish(w: Uint16Array): Uint8Array {
  w[255] = 0x00a5;
  const out = new Uint8Array(512);
  for (let i = 0; i < 256; i++) { out[2 * i] = w[i]! & 0xff; out[2 * i + 1] = w[i]! >> 8; }
  let sum = 0;
  for (let i = 0; i < 511; i++) sum += out[i]!;
  out[511] = (256 - (sum & 0xff)) & 0xff;
  return out;
}
