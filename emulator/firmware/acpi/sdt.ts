/**
 * Building blocks of ACPI system description tables: the common header, checksums,
 * Generic Address Structures and a little-endian byte writer.
 *
 * Follows: ACPI 6.5 5.2.6 "System Description Table Header", 5.2.3.2 "Generic Address
 * Structure (GAS)", 5.2.5 checksum rule (all bytes of a table sum to 0 mod 256).
 */

/** OEM identity written into every table header. */
export interface OemIds {
  /** 6 characters, space padded ("VIREO "). */
  oemId: string;
  /** 8 characters, space padded ("VIREOPC "). */
  oemTableId: string;
  /** OEM revision. */
  oemRevision: number;
  /** 4-character creator (ASL compiler vendor) id. */
  creatorId: string;
  /** Creator revision. */
  creatorRevision: number;
}

/** Vireo's table identity. */
export const VIREO_OEM: OemIds = {
  oemId: 'VIREO ',
  oemTableId: 'VIREOPC ',
  oemRevision: 1,
  creatorId: 'VIRE',
  creatorRevision: 1,
};

/** Length of the standard table header. */
export const SDT_HEADER_LENGTH = 36;
/** Offset of the checksum byte in the standard table header. */
export const SDT_CHECKSUM_OFFSET = 9;

/** A growable little-endian byte buffer. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Appends bytes. */
  bytes(b: ArrayLike<number>): this {
    this.reserve(b.length);
    for (let i = 0; i < b.length; i++) this.buf[this.len++] = b[i]! & 0xff;
    return this;
  }

  /** Appends an unsigned little-endian integer of `size` bytes. */
  uint(value: number | bigint, size: number): this {
    let v = BigInt(value);
    if (v < 0n) v += 1n << BigInt(size * 8);
    this.reserve(size);
    for (let i = 0; i < size; i++) { this.buf[this.len++] = Number(v & 0xffn); v >>= 8n; }
    return this;
  }

  /** Appends a u8. */
  u8(v: number): this { return this.uint(v, 1); }
  /** Appends a u16. */
  u16(v: number): this { return this.uint(v, 2); }
  /** Appends a u32. */
  u32(v: number): this { return this.uint(v, 4); }
  /** Appends a u64. */
  u64(v: number | bigint): this { return this.uint(v, 8); }

  /** Appends ASCII text of exactly `size` bytes (must already have that length). */
  ascii(s: string, size: number): this {
    if (s.length !== size || !/^[\x20-\x7e]*$/.test(s)) throw new Error(`ACPI: "${s}" must be ${size} printable ASCII characters`);
    return this.bytes(Array.from(s, (c) => c.charCodeAt(0)));
  }

  /** Appends `n` zero bytes. */
  zeros(n: number): this {
    this.reserve(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  /** Overwrites a little-endian integer at `offset`. */
  patch(offset: number, value: number | bigint, size: number): void {
    let v = BigInt(value);
    for (let i = 0; i < size; i++) { this.buf[offset + i] = Number(v & 0xffn); v >>= 8n; }
  }

  /** A copy of the bytes written. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Sum of bytes modulo 256. */
export function byteSum(bytes: Uint8Array, start = 0, length = bytes.length - start): number {
  let s = 0;
  for (let i = start; i < start + length; i++) s = (s + bytes[i]!) & 0xff;
  return s;
}

/** Sets `bytes[checksumOffset]` so that `bytes[start, start+length)` sums to 0. */
export function fixChecksum(bytes: Uint8Array, start: number, length: number, checksumOffset: number): void {
  bytes[checksumOffset] = 0;
  bytes[checksumOffset] = (0x100 - byteSum(bytes, start, length)) & 0xff;
}

/** Writes the 36-byte header; length and checksum are filled in by `finishTable`. */
export function writeHeader(w: ByteWriter, signature: string, revision: number, oem: OemIds): void {
  w.ascii(signature, 4).u32(0).u8(revision).u8(0)
    .ascii(oem.oemId, 6).ascii(oem.oemTableId, 8).u32(oem.oemRevision)
    .ascii(oem.creatorId, 4).u32(oem.creatorRevision);
}

/** Patches the header's length and checksum and returns the table. */
export function finishTable(w: ByteWriter): Uint8Array {
  const bytes = w.toBytes();
  const len = bytes.length;
  bytes[4] = len & 0xff; bytes[5] = (len >>> 8) & 0xff; bytes[6] = (len >>> 16) & 0xff; bytes[7] = len >>> 24;
  fixChecksum(bytes, 0, len, SDT_CHECKSUM_OFFSET);
  return bytes;
}

/** Address space ids of a Generic Address Structure. */
export const GasSpace = { SystemMemory: 0, SystemIO: 1, PciConfig: 2 } as const;

/** A Generic Address Structure (12 bytes). */
export interface Gas {
  space: number;
  bitWidth: number;
  bitOffset: number;
  /** Access size: 0 undefined (legacy), 1 byte, 2 word, 3 dword, 4 qword. */
  accessSize: number;
  address: number | bigint;
}

/** Appends a GAS. */
export function writeGas(w: ByteWriter, g: Gas): void {
  w.u8(g.space).u8(g.bitWidth).u8(g.bitOffset).u8(g.accessSize).u64(g.address);
}
