/**
 * qcow2 header: parsing, validation, feature policy and serialisation.
 *
 * Follows QEMU docs/interop/qcow2.txt, sections "Header" (72-byte version 2 header,
 * >= 104-byte version 3 header with feature bitmaps, refcount_order, header_length),
 * "Additional fields" (compression_type at byte 104), "Header extensions" and "Feature
 * name table". All numbers are big-endian.
 *
 * Policy (enforced by `checkQcow2Features`, before anything is written):
 * - encryption (crypt_method != 0), external data files (incompatible bit 2), non-zlib
 *   compression (bit 3), extended L2 entries (bit 4) and unknown incompatible bits are
 *   refused with a message naming the file and the feature;
 * - the dirty bit (0) and the corrupt bit (1) allow read-only opens only: writing needs
 *   a repair first (`qemu-img check -r all`), since refcounts may be wrong;
 * - compatible bits (lazy refcounts) are ignored: Vireo always updates refcounts eagerly
 *   and never sets the dirty bit;
 * - autoclear bits are cleared before the first write (we do not maintain bitmaps).
 * Sanity limits follow QEMU's: cluster_bits 9..21, L1 table <= 32 MiB, refcount table
 * <= 8 MiB, backing file name <= 1023 bytes inside the first cluster.
 */
import { StorageError } from './block-backend.js';

/** "QFI\xfb": the first four bytes of every qcow image. */
export const QCOW2_MAGIC = 0x514649fb;
/** Incompatible feature bit 0: refcounts may be inconsistent. */
export const INCOMPAT_DIRTY = 1n << 0n;
/** Incompatible feature bit 1: metadata may be corrupt. */
export const INCOMPAT_CORRUPT = 1n << 1n;
/** Incompatible feature bit 2: guest data lives in an external file. */
export const INCOMPAT_DATA_FILE = 1n << 2n;
/** Incompatible feature bit 3: compressed clusters use compression_type (zstd). */
export const INCOMPAT_COMPRESSION = 1n << 3n;
/** Incompatible feature bit 4: extended L2 entries (subclusters). */
export const INCOMPAT_EXTL2 = 1n << 4n;
/** Version 2 header size in bytes. */
export const HEADER_V2_BYTES = 72;
/** Minimum version 3 header size in bytes. */
export const HEADER_V3_BYTES = 104;
/** Header size Vireo writes: v3 fields plus compression_type and padding. */
export const HEADER_VIREO_BYTES = 112;
/** Byte offset of the autoclear_features field. */
export const HEADER_AUTOCLEAR_OFFSET = 88;
/** Byte offset of refcount_table_offset (followed by refcount_table_clusters at 56). */
export const HEADER_REFCOUNT_TABLE_OFFSET = 48;
/** Smallest and largest cluster_bits accepted (512 B .. 2 MiB, QEMU's limits). */
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
/** QEMU's limit on the L1 table size in bytes. */
export const MAX_L1_BYTES = 32 << 20;
/** QEMU's limit on the refcount table size in bytes. */
export const MAX_REFCOUNT_TABLE_BYTES = 8 << 20;

const EXT_END = 0;
/** Header extension type: backing file format name. */
export const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_NAMES = 0x6803f857;
const EXT_CRYPTO = 0x0537be77;
const EXT_DATA_FILE = 0x44415441;

/** The decoded fixed header. */
export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  /** Virtual disk size in bytes. */
  sizeBytes: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
}

/** Header plus what the extensions and the backing file name say. */
export interface Qcow2Metadata {
  header: Qcow2Header;
  /** Backing file name as stored (not resolved), if any. */
  backingFile: string | undefined;
  /** Backing file format from the extension ("raw", "qcow2"), if any. */
  backingFormat: string | undefined;
  /** External data file name, if the extension is present. */
  dataFile: string | undefined;
  /** Feature names by "type:bit" (type 0 incompatible, 1 compatible, 2 autoclear). */
  featureNames: Map<string, string>;
}

/** Reads a big-endian u64 that must fit a JS safe integer. */
function u64(view: DataView, off: number, path: string, field: string): number {
  const v = view.getBigUint64(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new StorageError(path, 'corrupt', `qcow2 header field ${field} has an absurd value ${v}`);
  }
  return Number(v);
}

/** Bytes of the header that must be read to parse it (the header and its extensions). */
export function headerProbeBytes(): number {
  return 1 << MAX_CLUSTER_BITS;
}

/**
 * Parses and validates the header at the start of `head` (the first cluster of the
 * file, or the whole file if shorter). `fileBytes` is the file size, used to check that
 * tables lie inside the file. Throws `bad-format` / `unsupported` / `corrupt` errors.
 */
export function parseQcow2Header(path: string, head: Uint8Array, fileBytes: number): Qcow2Metadata {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length < 8 || view.getUint32(0) !== QCOW2_MAGIC) {
    throw new StorageError(path, 'bad-format', 'not a qcow2 image: the file does not start with the magic "QFI\\xfb"');
  }
  const version = view.getUint32(4);
  if (version === 1) throw new StorageError(path, 'unsupported', 'qcow version 1 images are not supported (convert with qemu-img)');
  if (version !== 2 && version !== 3) throw new StorageError(path, 'unsupported', `qcow2 version ${version} is not supported (only 2 and 3)`);
  const minBytes = version === 2 ? HEADER_V2_BYTES : HEADER_V3_BYTES;
  if (head.length < minBytes) {
    throw new StorageError(path, 'bad-format', `truncated qcow2 header: the file has ${head.length} bytes, the header needs ${minBytes}`);
  }
  const clusterBits = view.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new StorageError(path, 'corrupt', `qcow2 cluster_bits ${clusterBits} is outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`);
  }
  const h: Qcow2Header = {
    version,
    backingFileOffset: u64(view, 8, path, 'backing_file_offset'),
    backingFileSize: view.getUint32(16),
    clusterBits,
    sizeBytes: u64(view, 24, path, 'size'),
    cryptMethod: view.getUint32(32),
    l1Size: view.getUint32(36),
    l1TableOffset: u64(view, 40, path, 'l1_table_offset'),
    refcountTableOffset: u64(view, 48, path, 'refcount_table_offset'),
    refcountTableClusters: view.getUint32(56),
    nbSnapshots: view.getUint32(60),
    snapshotsOffset: u64(view, 64, path, 'snapshots_offset'),
    incompatibleFeatures: version === 3 ? view.getBigUint64(72) : 0n,
    compatibleFeatures: version === 3 ? view.getBigUint64(80) : 0n,
    autoclearFeatures: version === 3 ? view.getBigUint64(88) : 0n,
    refcountOrder: version === 3 ? view.getUint32(96) : 4,
    headerLength: version === 3 ? view.getUint32(100) : HEADER_V2_BYTES,
    compressionType: 0,
  };
  const clusterBytes = 2 ** clusterBits;
  if (version === 3) {
    if (h.headerLength < HEADER_V3_BYTES || h.headerLength % 8 !== 0 || h.headerLength > clusterBytes) {
      throw new StorageError(path, 'corrupt', `qcow2 header_length ${h.headerLength} is invalid`);
    }
    if (h.headerLength > head.length) {
      throw new StorageError(path, 'bad-format', `truncated qcow2 header: header_length is ${h.headerLength} but the file has ${head.length} bytes`);
    }
    if (h.headerLength > 104) h.compressionType = head[104] ?? 0;
  }
  if (h.refcountOrder > 6) throw new StorageError(path, 'corrupt', `qcow2 refcount_order ${h.refcountOrder} is above 6`);
  validateLayout(path, h, fileBytes);

  const meta: Qcow2Metadata = { header: h, backingFile: undefined, backingFormat: undefined, dataFile: undefined, featureNames: new Map() };
  parseExtensions(path, head, h, meta, Math.min(clusterBytes, head.length));
  if (h.backingFileOffset !== 0) {
    if (h.backingFileSize === 0 || h.backingFileSize > 1023 || h.backingFileOffset + h.backingFileSize > clusterBytes
      || h.backingFileOffset + h.backingFileSize > head.length) {
      throw new StorageError(path, 'corrupt', `qcow2 backing file name (offset ${h.backingFileOffset}, ${h.backingFileSize} bytes) is invalid`);
    }
    meta.backingFile = decodeUtf8(head.subarray(h.backingFileOffset, h.backingFileOffset + h.backingFileSize));
  }
  return meta;
}

function validateLayout(path: string, h: Qcow2Header, fileBytes: number): void {
  const clusterBytes = 2 ** h.clusterBits;
  const l2Entries = clusterBytes / 8;
  const aligned = (v: number): boolean => v % clusterBytes === 0;
  if (h.sizeBytes > 2 ** 53 - clusterBytes) {
    throw new StorageError(path, 'corrupt', `qcow2 virtual size ${h.sizeBytes} is absurd`);
  }
  const l1Needed = Math.ceil(Math.ceil(h.sizeBytes / clusterBytes) / l2Entries);
  if (h.l1Size * 8 > MAX_L1_BYTES) {
    throw new StorageError(path, 'corrupt', `qcow2 L1 table of ${h.l1Size} entries is absurdly large`);
  }
  if (h.l1Size < l1Needed) {
    throw new StorageError(path, 'corrupt', `qcow2 L1 table has ${h.l1Size} entries but the ${h.sizeBytes}-byte disk needs ${l1Needed}`);
  }
  if (h.l1Size > 0 && (h.l1TableOffset === 0 || !aligned(h.l1TableOffset))) {
    throw new StorageError(path, 'corrupt', `qcow2 L1 table offset ${h.l1TableOffset} is not cluster-aligned`);
  }
  if (h.l1Size > 0 && h.l1TableOffset + h.l1Size * 8 > fileBytes) {
    throw new StorageError(path, 'corrupt',
      `qcow2 L1 table at offset ${h.l1TableOffset} (${h.l1Size * 8} bytes) extends beyond the end of the file (${fileBytes} bytes)`);
  }
  if (h.refcountTableOffset === 0 || !aligned(h.refcountTableOffset)) {
    throw new StorageError(path, 'corrupt', `qcow2 refcount table offset ${h.refcountTableOffset} is not cluster-aligned`);
  }
  if (h.refcountTableClusters === 0 || h.refcountTableClusters * clusterBytes > MAX_REFCOUNT_TABLE_BYTES) {
    throw new StorageError(path, 'corrupt', `qcow2 refcount table of ${h.refcountTableClusters} clusters is absurd`);
  }
  if (h.refcountTableOffset + h.refcountTableClusters * clusterBytes > fileBytes) {
    throw new StorageError(path, 'corrupt',
      `qcow2 refcount table at offset ${h.refcountTableOffset} extends beyond the end of the file (${fileBytes} bytes)`);
  }
}

function parseExtensions(path: string, head: Uint8Array, h: Qcow2Header, meta: Qcow2Metadata, limit: number): void {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let off = h.headerLength;
  // Header extensions end at the end marker, at the backing file name, or at the end of
  // the first cluster, whichever comes first.
  const end = h.backingFileOffset !== 0 ? Math.min(limit, h.backingFileOffset) : limit;
  while (off + 8 <= end) {
    const type = view.getUint32(off);
    const len = view.getUint32(off + 4);
    if (type === EXT_END) break;
    const data = off + 8;
    if (data + len > end) throw new StorageError(path, 'corrupt', `qcow2 header extension 0x${type.toString(16)} overruns the header cluster`);
    const bytes = head.subarray(data, data + len);
    if (type === EXT_BACKING_FORMAT) meta.backingFormat = decodeUtf8(bytes);
    else if (type === EXT_DATA_FILE) meta.dataFile = decodeUtf8(bytes);
    else if (type === EXT_FEATURE_NAMES) {
      for (let e = 0; e + 48 <= len; e += 48) {
        const name = decodeUtf8(bytes.subarray(e + 2, e + 48)).replace(/\0+$/, '');
        meta.featureNames.set(`${bytes[e]}:${bytes[e + 1]}`, name);
      }
    } else if (type === EXT_CRYPTO) {
      // Only meaningful with crypt_method 2 (LUKS), which is refused anyway.
    }
    off = data + Math.ceil(len / 8) * 8;
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

const KNOWN_INCOMPATIBLE = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;

/**
 * Applies the feature policy of the file header. Throws `unsupported` for features
 * Vireo cannot handle at all and `needs-repair` when `writable` is requested for a dirty
 * or corrupt image. Never writes.
 */
export function checkQcow2Features(path: string, meta: Qcow2Metadata, writable: boolean): void {
  const h = meta.header;
  if (h.cryptMethod !== 0) {
    const kind = h.cryptMethod === 1 ? 'AES' : h.cryptMethod === 2 ? 'LUKS' : `method ${h.cryptMethod}`;
    throw new StorageError(path, 'unsupported', `qcow2 encryption (${kind}) is not supported; decrypt it with qemu-img convert`);
  }
  const unknown = h.incompatibleFeatures & ~KNOWN_INCOMPATIBLE;
  if (unknown !== 0n) {
    const names: string[] = [];
    for (let bit = 0; bit < 64; bit++) {
      if ((unknown >> BigInt(bit)) & 1n) {
        const name = meta.featureNames.get(`0:${bit}`);
        names.push(name ? `bit ${bit} "${name}"` : `bit ${bit}`);
      }
    }
    throw new StorageError(path, 'unsupported', `qcow2 image uses unknown incompatible feature ${names.join(', ')}`);
  }
  if (h.incompatibleFeatures & INCOMPAT_DATA_FILE) {
    const where = meta.dataFile ? ` ("${meta.dataFile}")` : '';
    throw new StorageError(path, 'unsupported', `qcow2 external data files${where} are not supported`);
  }
  if (h.incompatibleFeatures & INCOMPAT_COMPRESSION) {
    const kind = h.compressionType === 1 ? 'zstd' : `type ${h.compressionType}`;
    throw new StorageError(path, 'unsupported', `qcow2 compression ${kind} is not supported (only zlib)`);
  }
  if (h.incompatibleFeatures & INCOMPAT_EXTL2) {
    throw new StorageError(path, 'unsupported', 'qcow2 extended L2 entries (subclusters) are not supported');
  }
  if (writable && (h.incompatibleFeatures & INCOMPAT_DIRTY)) {
    throw new StorageError(path, 'needs-repair',
      'qcow2 image is marked dirty (it was not closed cleanly while using lazy refcounts); '
      + 'repair it with "qemu-img check -r all" or open it read-only');
  }
  if (writable && (h.incompatibleFeatures & INCOMPAT_CORRUPT)) {
    throw new StorageError(path, 'needs-repair',
      'qcow2 image is marked corrupt; repair it with "qemu-img check -r all" or open it read-only');
  }
  if (writable && h.nbSnapshots > 0) {
    throw new StorageError(path, 'unsupported',
      `qcow2 image has ${h.nbSnapshots} internal snapshot(s); Vireo can only open such images read-only`);
  }
}

/** Serialises a version 3 header of `HEADER_VIREO_BYTES` bytes (compression zlib). */
export function serializeQcow2HeaderV3(h: Qcow2Header): Uint8Array {
  const out = new Uint8Array(HEADER_VIREO_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, QCOW2_MAGIC);
  view.setUint32(4, 3);
  view.setBigUint64(8, BigInt(h.backingFileOffset));
  view.setUint32(16, h.backingFileSize);
  view.setUint32(20, h.clusterBits);
  view.setBigUint64(24, BigInt(h.sizeBytes));
  view.setUint32(32, h.cryptMethod);
  view.setUint32(36, h.l1Size);
  view.setBigUint64(40, BigInt(h.l1TableOffset));
  view.setBigUint64(48, BigInt(h.refcountTableOffset));
  view.setUint32(56, h.refcountTableClusters);
  view.setUint32(60, h.nbSnapshots);
  view.setBigUint64(64, BigInt(h.snapshotsOffset));
  view.setBigUint64(72, h.incompatibleFeatures);
  view.setBigUint64(80, h.compatibleFeatures);
  view.setBigUint64(88, h.autoclearFeatures);
  view.setUint32(96, h.refcountOrder);
  view.setUint32(100, HEADER_VIREO_BYTES);
  out[104] = h.compressionType;
  return out;
}
