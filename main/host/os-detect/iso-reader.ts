/**
 * A small read-only reader of install media: ISO 9660 (ECMA-119) volume descriptors and
 * directory tree, the Joliet supplementary descriptor (names in UCS-2), Rock Ridge NM
 * names (IEEE P1282 / SUSP), and the UDF (ECMA-167 / OSTA UDF) volume recognition
 * sequence, anchor and volume identifiers. No mounting, no third-party code.
 *
 * The UDF file tree is walked too (real Windows ISOs keep their files in UDF and show only
 * README.TXT through ISO 9660), for UDF 1.02-2.01 volumes with one type-1 partition map.
 *
 * Left out: UDF metadata partitions (UDF 2.5+, Blu-ray), virtual/sparable partitions,
 * reading past a file's first extent, multi-extent ISO 9660 files, SUSP continuation
 * areas (CE), El Torito details.
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
    private readonly udf: UdfTree | null,
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
      let udf: UdfTree | null = null;
      if (info.hasUdf) {
        const volume = await readUdfVolume(read);
        info.udfLabel = volume.label;
        udf = volume.tree;
      }
      if (!recognised || (pvdRoot === null && info.udfLabel === null && !info.hasUdf)) {
        return await notIso('no CD001/NSR volume descriptor at sector 16');
      }
      return new IsoImage(file, path, size, info, jolietRoot ?? pvdRoot, udf);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
  }

  /** Whether a directory tree (ISO 9660, Joliet or UDF) can be read. */
  get hasIsoTree(): boolean {
    return this.root !== null || this.udf !== null;
  }

  /** Whether the UDF file tree can be read. */
  get hasUdfTree(): boolean {
    return this.udf !== null;
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
    return (await this.findIso9660(relPath)) ?? (await this.findUdf(relPath));
  }

  /** Finds `relPath` in the UDF tree (case-insensitively); null without one. */
  private async findUdf(relPath: string): Promise<IsoDirEntry | null> {
    const udf = this.udf;
    if (!udf) return null;
    const readBlock = async (lbn: number, bytes = SECTOR_BYTES): Promise<Buffer> => {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await this.file.read(buf, 0, bytes, (udf.partitionStart + lbn) * SECTOR_BYTES);
      return buf.subarray(0, bytesRead);
    };
    let icb = udf.rootIcbLbn;
    let isDir = true;
    let node: UdfNode | null = null;
    const parts = relPath.split('/').filter((p) => p !== '');
    for (let depth = 0; depth <= parts.length; depth++) {
      node = await readUdfFileEntry(readBlock, icb);
      if (!node) return null;
      if (depth === parts.length) break;
      if (!isDir || node.extents.length === 0) return null;
      const first = node.extents[0];
      if (!first) return null;
      const data = node.embedded ?? await readBlock(first.lbn, Math.min(node.sizeBytes, MAX_DIR_BYTES));
      const want = (parts[depth] ?? '').toLowerCase();
      const hit = parseUdfDirectory(data).find((e) => e.name.toLowerCase() === want);
      if (!hit) return null;
      icb = hit.icbLbn;
      isDir = hit.isDir;
    }
    if (!node) return null;
    const firstExtent = node.extents[0];
    return { name: parts.at(-1) ?? '', lba: udf.partitionStart + (firstExtent?.lbn ?? 0), sizeBytes: node.sizeBytes, isDir };
  }

  private async findIso9660(relPath: string): Promise<IsoDirEntry | null> {
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

/** Where a UDF volume's files are: its (single) partition and the root directory's ICB. */
interface UdfTree {
  /** First sector of partition 0. */
  partitionStart: number;
  /** Logical block (within the partition) of the root directory's File Entry. */
  rootIcbLbn: number;
}

/** A UDF File Entry: size and where the data is. */
interface UdfNode {
  sizeBytes: number;
  /** Extents (logical blocks within the partition). */
  extents: { lbn: number; lengthBytes: number }[];
  /** Data stored inside the entry itself (allocation type 3). */
  embedded: Buffer | null;
}

/**
 * Reads the UDF volume: the anchor at sector 256 (tag 2), then the main volume descriptor
 * sequence: the Logical Volume Descriptor (tag 6) identifier (else the Primary Volume
 * Descriptor's, tag 1), the partition (tag 5), the File Set Descriptor (tag 256) and its
 * root directory. Label and tree are null where the structures are missing or unsupported.
 */
async function readUdfVolume(read: (sector: number, count?: number) => Promise<Buffer>): Promise<{ label: string | null; tree: UdfTree | null }> {
  const avdp = await read(256);
  if (avdp.length < 32 || avdp.readUInt16LE(0) !== 2) return { label: null, tree: null };
  const seqLength = avdp.readUInt32LE(16);
  const seqStart = avdp.readUInt32LE(20);
  const sectors = Math.min(Math.ceil(seqLength / SECTOR_BYTES), 32);
  let primary: string | null = null;
  let logical: string | null = null;
  let partitionStart: number | null = null;
  let fsdLbn: number | null = null;
  let simpleMap = false;
  for (let i = 0; i < sectors; i++) {
    const d = await read(seqStart + i);
    if (d.length < 512) break;
    const tag = d.readUInt16LE(0);
    if (tag === 6) {
      logical = udfDstring(d, 84, 128) || null;
      const blockSize = d.readUInt32LE(212);
      fsdLbn = d.readUInt32LE(252);
      const maps = d.readUInt32LE(268);
      simpleMap = blockSize === SECTOR_BYTES && maps === 1 && d[440] === 1;
    } else if (tag === 5 && partitionStart === null) {
      partitionStart = d.readUInt32LE(188);
    } else if (tag === 1 && primary === null) {
      primary = udfDstring(d, 24, 32) || null;
    } else if (tag === 8) {
      break; // terminating descriptor
    }
  }
  let tree: UdfTree | null = null;
  if (partitionStart !== null && fsdLbn !== null && simpleMap) {
    const fsd = await read(partitionStart + fsdLbn);
    if (fsd.length >= 512 && fsd.readUInt16LE(0) === 256) tree = { partitionStart, rootIcbLbn: fsd.readUInt32LE(404) };
  }
  return { label: logical ?? primary, tree };
}

/** Reads the File Entry (tag 261) or Extended File Entry (tag 266) at `lbn`. */
async function readUdfFileEntry(readBlock: (lbn: number) => Promise<Buffer>, lbn: number): Promise<UdfNode | null> {
  const fe = await readBlock(lbn);
  if (fe.length < 176) return null;
  const tag = fe.readUInt16LE(0);
  if (tag !== 261 && tag !== 266) return null;
  const adType = fe.readUInt16LE(34) & 0x07;
  const sizeBytes = Number(fe.readBigUInt64LE(56));
  const [lEa, lAd, base] = tag === 261 ? [fe.readUInt32LE(168), fe.readUInt32LE(172), 176] : [fe.readUInt32LE(208), fe.readUInt32LE(212), 216];
  const start = base + lEa;
  if (start + lAd > fe.length) return null;
  const ads = fe.subarray(start, start + lAd);
  if (adType === 3) return { sizeBytes, extents: [], embedded: Buffer.from(ads) };
  const step = adType === 0 ? 8 : adType === 1 ? 16 : 0;
  if (step === 0) return null;
  const extents: UdfNode['extents'] = [];
  for (let off = 0; off + step <= ads.length; off += step) {
    const lengthBytes = ads.readUInt32LE(off) & 0x3fffffff;
    if (lengthBytes === 0) break;
    extents.push({ lbn: ads.readUInt32LE(off + 4), lengthBytes });
  }
  return { sizeBytes, extents, embedded: null };
}

/** The File Identifier Descriptors (tag 257) of a directory's data. */
function parseUdfDirectory(data: Buffer): { name: string; isDir: boolean; icbLbn: number }[] {
  const out: { name: string; isDir: boolean; icbLbn: number }[] = [];
  let off = 0;
  while (off + 38 <= data.length) {
    if (data.readUInt16LE(off) !== 257) break;
    const characteristics = data[off + 18] ?? 0;
    const lFi = data[off + 19] ?? 0;
    const icbLbn = data.readUInt32LE(off + 24);
    const lIu = data.readUInt16LE(off + 36);
    const nameStart = off + 38 + lIu;
    if ((characteristics & 0x08) === 0 && (characteristics & 0x04) === 0 && lFi > 0) {
      const comp = data[nameStart];
      const raw = data.subarray(nameStart + 1, nameStart + lFi);
      const name = comp === 16 ? ucs2be(Buffer.from(raw), 0, raw.length) : raw.toString('latin1');
      out.push({ name, isDir: (characteristics & 0x02) !== 0, icbLbn });
    }
    off += (38 + lIu + lFi + 3) & ~3;
  }
  return out;
}
