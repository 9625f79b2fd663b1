/**
 * A small read-only reader of install media: ISO 9660 (ECMA-119) volume descriptors and
 * directory tree, the Joliet supplementary descriptor (names in UCS-2), Rock Ridge NM
 * names (IEEE P1282 / SUSP), and the UDF (ECMA-167 / OSTA UDF) volume recognition
 * sequence, anchor and volume identifiers. No mounting, no third-party code.
 *
 * Left out: walking the UDF file tree (real Windows ISOs keep their files in UDF and show
 * only README.TXT through ISO 9660, so Windows detection on them relies on the UDF label),
 * multi-extent files, SUSP continuation areas (CE), El Torito details.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** ISO 9660 / UDF logical sector size. */
export const SECTOR_BYTES = 2048;
/** The first volume descriptor sits at sector 16 (after the system area). */
const FIRST_DESCRIPTOR_SECTOR = 16;
/** Upper bound on descriptors read before giving up on a terminator. */
const MAX_DESCRIPTORS = 64;
/** Upper bound on one directory's size (a sanity limit for corrupt images). */
const MAX_DIR_BYTES = 4 * 1024 * 1024;

/** Thrown when a file is not install media or is damaged; the message names the file. */
export class NotIsoError extends Error {
  /** @param message names the file and what is wrong with it */
  constructor(message: string) {
    super(message);
    this.name = 'NotIsoError';
  }
}

/** One entry of an ISO 9660 / Joliet directory. */
export interface IsoDirEntry {
  /** The name as the best available tree shows it (Joliet or Rock Ridge, else ISO 9660 without ";1"). */
  name: string;
  /** First logical block of the extent. */
  lba: number;
  /** Size in bytes. */
  sizeBytes: number;
  /** Whether the entry is a directory. */
  isDir: boolean;
}

/** What the volume descriptors say about the image. */
export interface IsoVolumeInfo {
  /** The ISO 9660 primary volume identifier (trimmed), or null without a PVD. */
  isoLabel: string | null;
  /** The Joliet volume identifier (trimmed), or null without Joliet. */
  jolietLabel: string | null;
  /** The UDF logical volume identifier (or primary volume identifier), or null without UDF. */
  udfLabel: string | null;
  /** The PVD's system, publisher and application identifiers (trimmed; empty when blank). */
  systemId: string;
  /** @see systemId */
  publisherId: string;
  /** @see systemId */
  applicationId: string;
  /** Volume space size in bytes according to the PVD (0 without one). */
  volumeSizeBytes: number;
  /** Whether a UDF volume recognition sequence (NSR02/NSR03) is present. */
  hasUdf: boolean;
}

interface RootRef {
  lba: number;
  sizeBytes: number;
  joliet: boolean;
}

/** Shows the first bytes of a file readably: `"<!DOCTYPE html>..."` or hex when binary. */
export function describeLeadingBytes(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 32);
  if (head.length === 0) return 'nothing (the file is empty)';
  const printable = [...head].filter((b) => b === 9 || b === 10 || b === 13 || (b >= 0x20 && b < 0x7f)).length;
  if (printable >= head.length * 0.9) {
    const text = Buffer.from(head).toString('latin1').replace(/\s+/g, ' ');
    return JSON.stringify(text + (bytes.length > head.length ? '...' : ''));
  }
  return `bytes ${Buffer.from(head.subarray(0, 16)).toString('hex').replace(/(..)/g, '$1 ').trim()}`;
}

function trimField(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end).replace(/[\s\0]+$/, '').trim();
}

function ucs2be(buf: Buffer, start: number, end: number): string {
  const swapped = Buffer.from(buf.subarray(start, end - ((end - start) % 2)));
  swapped.swap16();
  return swapped.toString('utf16le');
}

/** Decodes an OSTA compressed-unicode dstring (first byte 8 or 16; last byte = used length). */
function udfDstring(buf: Buffer, start: number, fieldLength: number): string {
  const used = buf[start + fieldLength - 1] ?? 0;
  if (used === 0) return '';
  const comp = buf[start];
  const body = buf.subarray(start + 1, start + Math.min(used, fieldLength - 1));
  if (comp === 8) return body.toString('latin1').trim();
  if (comp === 16) return ucs2be(Buffer.from(body), 0, body.length).trim();
  return '';
}

/** An open image; call {@link IsoImage.close} when done. */
export class IsoImage {
  private constructor(
    private readonly file: FileHandle,
    /** Path of the image (for messages). */
    readonly path: string,
    /** Size of the file in bytes. */
    readonly fileSizeBytes: number,
    /** Volume facts read at open. */
    readonly info: IsoVolumeInfo,
    private readonly root: RootRef | null,
  ) {}

  /**
   * Opens `path` and reads its volume descriptors. Throws {@link NotIsoError} when the file
   * is neither ISO 9660 nor UDF ("not an ISO 9660/UDF image: PATH starts with ...").
   */
  static async open(path: string): Promise<IsoImage> {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const read = async (sector: number, count = 1): Promise<Buffer> => {
        const buf = Buffer.alloc(SECTOR_BYTES * count);
        const { bytesRead } = await file.read(buf, 0, buf.length, sector * SECTOR_BYTES);
        return buf.subarray(0, bytesRead);
      };
      const notIso = async (why: string): Promise<never> => {
        const head = Buffer.alloc(64);
        const { bytesRead } = await file.read(head, 0, head.length, 0);
        throw new NotIsoError(`not an ISO 9660/UDF image: ${path} starts with ${describeLeadingBytes(head.subarray(0, bytesRead))}${why ? ` (${why})` : ''}`);
      };
      if (size < (FIRST_DESCRIPTOR_SECTOR + 1) * SECTOR_BYTES) {
        return await notIso(`${size} bytes is too small for a volume descriptor at sector 16`);
      }
      const info: IsoVolumeInfo = {
        isoLabel: null, jolietLabel: null, udfLabel: null, systemId: '', publisherId: '', applicationId: '',
        volumeSizeBytes: 0, hasUdf: false,
      };
      let pvdRoot: RootRef | null = null;
      let jolietRoot: RootRef | null = null;
      let recognised = false;
      for (let i = 0; i < MAX_DESCRIPTORS; i++) {
        const d = await read(FIRST_DESCRIPTOR_SECTOR + i);
        if (d.length < SECTOR_BYTES) break;
        const ident = d.toString('latin1', 1, 6);
        if (ident === 'CD001') {
          recognised = true;
          const type = d[0];
          if (type === 1 && pvdRoot === null) {
            info.isoLabel = trimField(d, 40, 72);
            info.systemId = trimField(d, 8, 40);
            info.publisherId = trimField(d, 318, 446);
            info.applicationId = trimField(d, 574, 702);
            info.volumeSizeBytes = d.readUInt32LE(80) * d.readUInt16LE(128);
            pvdRoot = { lba: d.readUInt32LE(156 + 2), sizeBytes: d.readUInt32LE(156 + 10), joliet: false };
          } else if (type === 2 && jolietRoot === null) {
            const esc = d.toString('latin1', 88, 91);
            if (esc === '%/@' || esc === '%/C' || esc === '%/E') {
              info.jolietLabel = ucs2be(d, 40, 72).replace(/[\s\0]+$/, '').trim();
              jolietRoot = { lba: d.readUInt32LE(156 + 2), sizeBytes: d.readUInt32LE(156 + 10), joliet: true };
            }
          } else if (type === 255) {
            // Terminator; a UDF recognition sequence may follow, keep scanning those.
          }
        } else if (ident === 'BEA01' || ident === 'TEA01') {
          recognised = true;
        } else if (ident === 'NSR02' || ident === 'NSR03') {
          recognised = true;
          info.hasUdf = true;
        } else {
          break;
        }
      }
      if (info.hasUdf) info.udfLabel = await readUdfLabel(read);
      if (!recognised || (pvdRoot === null && info.udfLabel === null && !info.hasUdf)) {
        return await notIso('no CD001/NSR volume descriptor at sector 16');
      }
      return new IsoImage(file, path, size, info, jolietRoot ?? pvdRoot);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
  }

  /** Whether the ISO 9660 (or Joliet) directory tree can be read. */
  get hasIsoTree(): boolean {
    return this.root !== null;
  }

  /** Lists a directory by its extent. */
  async readDir(lba: number, sizeBytes: number, joliet: boolean): Promise<IsoDirEntry[]> {
    if (sizeBytes > MAX_DIR_BYTES) throw new NotIsoError(`${this.path}: a directory claims ${sizeBytes} bytes; the image looks damaged`);
    const buf = Buffer.alloc(sizeBytes);
    const { bytesRead } = await this.file.read(buf, 0, sizeBytes, lba * SECTOR_BYTES);
    const entries: IsoDirEntry[] = [];
    let off = 0;
    while (off < bytesRead) {
      const len = buf[off] ?? 0;
      if (len === 0) {
        off = (Math.floor(off / SECTOR_BYTES) + 1) * SECTOR_BYTES; // records never cross sectors
        continue;
      }
      if (off + len > bytesRead || len < 34) break;
      const rec = buf.subarray(off, off + len);
      off += len;
      const nameLen = rec[32] ?? 0;
      if (nameLen === 1 && (rec[33] === 0 || rec[33] === 1)) continue; // "." and ".."
      const flags = rec[25] ?? 0;
      let name = joliet ? ucs2be(rec, 33, 33 + nameLen) : rec.toString('latin1', 33, 33 + nameLen);
      if (!joliet) name = rockRidgeName(rec, 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0)) ?? name;
      name = name.replace(/;\d+$/, '').replace(/\.$/, '');
      entries.push({ name, lba: rec.readUInt32LE(2), sizeBytes: rec.readUInt32LE(10), isDir: (flags & 0x02) !== 0 });
    }
    return entries;
  }

  /**
   * Finds `relPath` ("sources/install.wim") case-insensitively in the best tree (Joliet,
   * else ISO 9660 with Rock Ridge names); null when absent or the image has no such tree.
   * ISO 9660 level-1 names are also tried with dots in directory names as underscores
   * (".disk" is "_DISK" without Rock Ridge or Joliet).
   */
  async find(relPath: string): Promise<IsoDirEntry | null> {
    if (!this.root) return null;
    const parts = relPath.split('/').filter((p) => p !== '');
    let dir: IsoDirEntry = { name: '', lba: this.root.lba, sizeBytes: this.root.sizeBytes, isDir: true };
    for (let i = 0; i < parts.length; i++) {
      if (!dir.isDir) return null;
      const entries = await this.readDir(dir.lba, dir.sizeBytes, this.root.joliet);
      const want = (parts[i] ?? '').toLowerCase();
      const alt = want.replace(/^\./, '_');
      const hit = entries.find((e) => e.name.toLowerCase() === want) ?? entries.find((e) => e.name.toLowerCase() === alt);
      if (!hit) return null;
      dir = hit;
    }
    return dir;
  }

  /** Reads a (small) file found with {@link find}; at most `maxBytes`. */
  async readFile(entry: IsoDirEntry, maxBytes = 64 * 1024): Promise<Buffer> {
    const n = Math.min(entry.sizeBytes, maxBytes);
    const buf = Buffer.alloc(n);
    const { bytesRead } = await this.file.read(buf, 0, n, entry.lba * SECTOR_BYTES);
    return buf.subarray(0, bytesRead);
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.file.close();
  }
}

/** The Rock Ridge "NM" name in a directory record's system use area, if any. */
function rockRidgeName(rec: Buffer, start: number): string | null {
  let off = start;
  let name = '';
  let found = false;
  while (off + 4 <= rec.length) {
    const sig = rec.toString('latin1', off, off + 2);
    const len = rec[off + 2] ?? 0;
    if (len < 4 || off + len > rec.length) break;
    if (sig === 'NM') {
      const flags = rec[off + 4] ?? 0;
      if ((flags & 0x06) === 0) {
        name += rec.toString('utf8', off + 5, off + len);
        found = true;
      }
    }
    off += len;
  }
  return found ? name : null;
}

/**
 * Reads the UDF volume identifier: anchor at sector 256 (tag 2), then the main volume
 * descriptor sequence: the Logical Volume Descriptor (tag 6) identifier, else the Primary
 * Volume Descriptor's (tag 1). Null when the anchor or sequence is missing.
 */
async function readUdfLabel(read: (sector: number, count?: number) => Promise<Buffer>): Promise<string | null> {
  const avdp = await read(256);
  if (avdp.length < 32 || avdp.readUInt16LE(0) !== 2) return null;
  const seqLength = avdp.readUInt32LE(16);
  const seqStart = avdp.readUInt32LE(20);
  const sectors = Math.min(Math.ceil(seqLength / SECTOR_BYTES), 32);
  let primary: string | null = null;
  for (let i = 0; i < sectors; i++) {
    const d = await read(seqStart + i);
    if (d.length < 512) break;
    const tag = d.readUInt16LE(0);
    if (tag === 6) {
      const label = udfDstring(d, 84, 128);
      if (label) return label;
    } else if (tag === 1 && primary === null) {
      primary = udfDstring(d, 24, 32) || null;
    } else if (tag === 8) {
      break; // terminating descriptor
    }
  }
  return primary;
}
