/**
 * AML (ACPI Machine Language) encoder: the subset our DSDT needs, as small composable
 * functions that return byte arrays.
 *
 * Follows: ACPI 6.5 chapter 20 "ACPI Machine Language (AML) Specification":
 *   20.2.2 Name Objects Encoding (NameSeg, NameString, root/parent prefixes),
 *   20.2.3 Data Objects Encoding (Zero/One/Ones, Byte/Word/DWord/QWord/String prefixes),
 *   20.2.4 Package Length Encoding, 20.2.5 Term Objects Encoding (Scope, Device, Name,
 *   Method, OperationRegion, Field, Processor, If/Else, Return, Store, Notify, LEqual,
 *   LAnd, And, Or, ShiftLeft, ShiftRight, Add, CreateDWordField),
 *   19.6.33 EISAID, and 6.4 Resource Data Types for ACPI (IO, IRQ, IRQNoFlags,
 *   Memory32Fixed, DWordMemory, QWordMemory, WordBusNumber, WordIO, Interrupt, EndTag).
 * Leaves out: While/loops, mutexes, events, buffers fields other than CreateDWordField,
 * VarPackage (> 255 elements throws: that is a host-side bug).
 */

/** An encoded AML fragment. */
export type Aml = Uint8Array;

/** Concatenates fragments (numbers are single bytes). */
export function concat(...parts: ReadonlyArray<Aml | readonly number[] | number>): Aml {
  let n = 0;
  for (const p of parts) n += typeof p === 'number' ? 1 : p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    if (typeof p === 'number') out[o++] = p & 0xff;
    else { out.set(p, o); o += p.length; }
  }
  return out;
}

function le(value: number | bigint, bytes: number): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 1n << BigInt(bytes * 8);
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) { out.push(Number(v & 0xffn)); v >>= 8n; }
  return out;
}

// ---------------------------------------------------------------- names (20.2.2)

/** Root prefix '\\'. */
export const ROOT_CHAR = 0x5c;
/** Parent prefix '^'. */
export const PARENT_PREFIX_CHAR = 0x5e;
/** DualNamePrefix. */
export const DUAL_NAME_PREFIX = 0x2e;
/** MultiNamePrefix. */
export const MULTI_NAME_PREFIX = 0x2f;
/** NullName. */
export const NULL_NAME = 0x00;

/** Encodes one NameSeg: 1-4 chars [A-Z_][A-Z0-9_]*, padded with '_' to 4 bytes. */
export function nameSeg(seg: string): Aml {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new Error(`AML: bad NameSeg "${seg}" (1-4 of A-Z, 0-9, _; not starting with a digit)`);
  const s = seg.padEnd(4, '_');
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/**
 * Encodes a NameString: optional root '\\' or parent '^' prefixes, then segments
 * separated by '.', e.g. "\\_SB.PCI0", "^^LNKA", "_HID", "\\" (root alone).
 */
export function nameString(path: string): Aml {
  let i = 0;
  const prefix: number[] = [];
  if (path.startsWith('\\')) { prefix.push(ROOT_CHAR); i = 1; }
  else while (path[i] === '^') { prefix.push(PARENT_PREFIX_CHAR); i++; }
  const rest = path.slice(i);
  const segs = rest === '' ? [] : rest.split('.');
  if (segs.length === 0) return concat(prefix, NULL_NAME);
  const enc = segs.map(nameSeg);
  if (segs.length === 1) return concat(prefix, enc[0]!);
  if (segs.length === 2) return concat(prefix, DUAL_NAME_PREFIX, enc[0]!, enc[1]!);
  if (segs.length > 255) throw new Error('AML: NameString with more than 255 segments');
  return concat(prefix, MULTI_NAME_PREFIX, segs.length, ...enc);
}

// ---------------------------------------------------------------- PkgLength (20.2.4)

/**
 * Encodes the PkgLength for `contentLength` bytes that follow it; the encoded value
 * counts the PkgLength bytes themselves (1 byte up to 63, else 2-4 bytes).
 */
export function pkgLength(contentLength: number): Aml {
  if (contentLength + 1 <= 0x3f) return Uint8Array.of(contentLength + 1);
  for (let n = 2; n <= 4; n++) {
    const total = contentLength + n;
    if (total < 1 << (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0x0f)];
      let v = total >>> 4;
      for (let k = 1; k < n; k++) { out.push(v & 0xff); v >>>= 8; }
      return Uint8Array.from(out);
    }
  }
  throw new Error(`AML: package of ${contentLength} bytes exceeds the 2^28 PkgLength limit`);
}

/** `op PkgLength body` (op may be multi-byte). */
function pkg(op: readonly number[], ...body: Aml[]): Aml {
  const content = concat(...body);
  return concat(op, pkgLength(content.length), content);
}

// ---------------------------------------------------------------- data (20.2.3)

/** ZeroOp. */
export const ZERO_OP = 0x00;
/** OneOp. */
export const ONE_OP = 0x01;
/** OnesOp. */
export const ONES_OP = 0xff;
/** BytePrefix. */
export const BYTE_PREFIX = 0x0a;
/** WordPrefix. */
export const WORD_PREFIX = 0x0b;
/** DWordPrefix. */
export const DWORD_PREFIX = 0x0c;
/** StringPrefix. */
export const STRING_PREFIX = 0x0d;
/** QWordPrefix. */
export const QWORD_PREFIX = 0x0e;

/**
 * An integer constant in its shortest encoding: Zero, One, Ones (2^64-1), else the
 * smallest of Byte/Word/DWord/QWord.
 */
export function int(value: number | bigint): Aml {
  const v = BigInt(value);
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new Error(`AML: integer ${v} out of 0..2^64-1`);
  if (v === 0n) return Uint8Array.of(ZERO_OP);
  if (v === 1n) return Uint8Array.of(ONE_OP);
  if (v === 0xffff_ffff_ffff_ffffn) return Uint8Array.of(ONES_OP);
  if (v <= 0xffn) return Uint8Array.of(BYTE_PREFIX, Number(v));
  if (v <= 0xffffn) return concat(WORD_PREFIX, le(v, 2));
  if (v <= 0xffff_ffffn) return concat(DWORD_PREFIX, le(v, 4));
  return concat(QWORD_PREFIX, le(v, 8));
}

/** OnesOp: all bits set (32 bits in a revision-1 table, 64 in revision 2+). */
export function ones(): Aml {
  return Uint8Array.of(ONES_OP);
}

/** A string constant (ASCII 0x01-0x7f, NUL-terminated). */
export function str(s: string): Aml {
  const bytes: number[] = [];
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code < 1 || code > 0x7f) throw new Error(`AML: string "${s}" has a non-ASCII or NUL character`);
    bytes.push(code);
  }
  return concat(STRING_PREFIX, bytes, 0);
}

/** Buffer (BufferOp 0x11): size as an integer, then the bytes. */
export function buffer(bytes: Aml | readonly number[]): Aml {
  return pkg([0x11], int(bytes.length), Uint8Array.from(bytes));
}

/** Package (PackageOp 0x12) of up to 255 elements (each an encoded data object or name). */
export function pkgOf(...elements: Aml[]): Aml {
  if (elements.length > 255) throw new Error('AML: Package with more than 255 elements needs VarPackage');
  return pkg([0x12], Uint8Array.of(elements.length), ...elements);
}

/** A name reference used as a value (e.g. LNKA inside a _PRT package). */
export function ref(path: string): Aml {
  return nameString(path);
}

/** A method invocation: the method's name followed by its arguments. */
export function call(path: string, ...args: Aml[]): Aml {
  return concat(nameString(path), ...args);
}

/** LocalN (0-7). */
export function local(n: number): Aml {
  if (!Number.isInteger(n) || n < 0 || n > 7) throw new Error('AML: Local index must be 0-7');
  return Uint8Array.of(0x60 + n);
}

/** ArgN (0-6). */
export function arg(n: number): Aml {
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new Error('AML: Arg index must be 0-6');
  return Uint8Array.of(0x68 + n);
}

/**
 * EISAID("PNP0A03"): three letters compressed to 5 bits each plus four hex digits,
 * stored byte-swapped as a DWord (ACPI 6.5 19.6.33).
 */
export function eisaId(id: string): Aml {
  return int(eisaIdValue(id));
}

/** The 32-bit value an EISAID string compresses to. */
export function eisaIdValue(id: string): number {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new Error(`AML: bad EISAID "${id}" (3 letters + 4 hex digits)`);
  const c = (i: number): number => id.charCodeAt(i) - 0x40;
  const v = ((c(0) << 26) | (c(1) << 21) | (c(2) << 16) | parseInt(id.slice(3), 16)) >>> 0;
  // Byte swap: the compressed ID is big-endian in memory.
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

// ---------------------------------------------------------------- named objects (20.2.5)

/** Scope(name) { terms }. */
export function scope(path: string, ...terms: Aml[]): Aml {
  return pkg([0x10], nameString(path), ...terms);
}

/** Device(name) { terms } (ExtOpPrefix 0x5B 0x82). */
export function device(path: string, ...terms: Aml[]): Aml {
  return pkg([0x5b, 0x82], nameString(path), ...terms);
}

/** Name(name, value). */
export function name(path: string, value: Aml): Aml {
  return concat(0x08, nameString(path), value);
}

/** Options of a Method. */
export interface MethodOptions {
  /** Argument count 0-7. */
  args?: number;
  /** Serialized (true) or NotSerialized. */
  serialized?: boolean;
  /** SyncLevel 0-15. */
  syncLevel?: number;
}

/** Method(name, args, Serialized?) { terms }. */
export function method(path: string, opts: MethodOptions, ...terms: Aml[]): Aml {
  const args = opts.args ?? 0;
  const sync = opts.syncLevel ?? 0;
  if (args < 0 || args > 7 || sync < 0 || sync > 15) throw new Error('AML: Method args must be 0-7 and SyncLevel 0-15');
  const flags = args | (opts.serialized ? 0x08 : 0) | (sync << 4);
  return pkg([0x14], nameString(path), Uint8Array.of(flags), ...terms);
}

/**
 * Processor(name, procId, pblkAddress, pblkLength) { terms } (ExtOpPrefix 0x5B 0x83;
 * deprecated since ACPI 6.4 but what pre-Vista Windows and QEMU's pc machine use).
 */
export function processor(path: string, procId: number, pblkAddress: number, pblkLength: number, ...terms: Aml[]): Aml {
  return pkg([0x5b, 0x83], nameString(path), Uint8Array.of(procId & 0xff), Uint8Array.from(le(pblkAddress, 4)), Uint8Array.of(pblkLength & 0xff), ...terms);
}

/** Address spaces of OperationRegion. */
export const RegionSpace = { SystemMemory: 0, SystemIO: 1, PCI_Config: 2 } as const;
/** One of the RegionSpace values. */
export type RegionSpaceId = (typeof RegionSpace)[keyof typeof RegionSpace];

/** OperationRegion(name, space, offset, length) (ExtOpPrefix 0x5B 0x80). */
export function opRegion(path: string, space: RegionSpaceId, offset: number | bigint | Aml, length: number | bigint | Aml): Aml {
  const term = (v: number | bigint | Aml): Aml => (v instanceof Uint8Array ? v : int(v));
  return concat(0x5b, 0x80, nameString(path), space, term(offset), term(length));
}

/** Field access types (FieldFlags bits 0-3). */
export const AccessType = { Any: 0, Byte: 1, Word: 2, DWord: 3, QWord: 4, Buffer: 5 } as const;
/** Field update rules (FieldFlags bits 5-6). */
export const UpdateRule = { Preserve: 0, WriteAsOnes: 1, WriteAsZeros: 2 } as const;

/** One element of a Field list: a named field or a reserved gap, widths in bits. */
export type FieldElement = { name: string; bits: number } | { reservedBits: number };

/** Options of a Field. */
export interface FieldOptions {
  access: (typeof AccessType)[keyof typeof AccessType];
  lock: boolean;
  update: (typeof UpdateRule)[keyof typeof UpdateRule];
}

/** Field(region, access, lock, update) { elements } (ExtOpPrefix 0x5B 0x81). */
export function field(region: string, opts: FieldOptions, elements: readonly FieldElement[]): Aml {
  const flags = opts.access | (opts.lock ? 0x10 : 0) | (opts.update << 5);
  const list = elements.map((e) => ('name' in e
    ? concat(nameSeg(e.name), pkgLengthRaw(e.bits))
    : concat(0x00, pkgLengthRaw(e.reservedBits))));
  return pkg([0x5b, 0x81], nameString(region), Uint8Array.of(flags), ...list);
}

/**
 * A PkgLength used as a plain bit count (field element widths): same encoding, but the
 * value is the count itself, not a length that includes its own bytes.
 */
function pkgLengthRaw(value: number): Aml {
  if (value < 0x40) return Uint8Array.of(value);
  for (let n = 2; n <= 4; n++) {
    if (value < 1 << (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (value & 0x0f)];
      let v = value >>> 4;
      for (let k = 1; k < n; k++) { out.push(v & 0xff); v >>>= 8; }
      return Uint8Array.from(out);
    }
  }
  throw new Error('AML: field width too large');
}

/** CreateDWordField(source, byteIndex, name). */
export function createDWordField(source: Aml, byteIndex: number, path: string): Aml {
  return concat(0x8a, source, int(byteIndex), nameString(path));
}

// ---------------------------------------------------------------- statements and expressions

/** Return(value). */
export function ret(value: Aml): Aml {
  return concat(0xa4, value);
}

/** If(predicate) { terms }. */
export function ifThen(predicate: Aml, ...terms: Aml[]): Aml {
  return pkg([0xa0], predicate, ...terms);
}

/** Else { terms } (must directly follow an If). */
export function elseDo(...terms: Aml[]): Aml {
  return pkg([0xa1], ...terms);
}

/** Store(source, target). */
export function store(source: Aml, target: Aml): Aml {
  return concat(0x70, source, target);
}

/** Notify(object, value). */
export function notify(target: Aml, value: Aml): Aml {
  return concat(0x86, target, value);
}

/** LEqual(a, b). */
export function lEqual(a: Aml, b: Aml): Aml {
  return concat(0x93, a, b);
}

/** LAnd(a, b). */
export function lAnd(a: Aml, b: Aml): Aml {
  return concat(0x90, a, b);
}

/** LNot(a). */
export function lNot(a: Aml): Aml {
  return concat(0x92, a);
}

/** LLess(a, b). */
export function lLess(a: Aml, b: Aml): Aml {
  return concat(0x95, a, b);
}

const NO_TARGET = Uint8Array.of(NULL_NAME);

/** And(a, b, target?). */
export function and(a: Aml, b: Aml, target: Aml = NO_TARGET): Aml {
  return concat(0x7b, a, b, target);
}

/** Or(a, b, target?). */
export function or(a: Aml, b: Aml, target: Aml = NO_TARGET): Aml {
  return concat(0x7d, a, b, target);
}

/** ShiftLeft(a, count, target?). */
export function shiftLeft(a: Aml, count: Aml, target: Aml = NO_TARGET): Aml {
  return concat(0x79, a, count, target);
}

/** ShiftRight(a, count, target?). */
export function shiftRight(a: Aml, count: Aml, target: Aml = NO_TARGET): Aml {
  return concat(0x7a, a, count, target);
}

/** Add(a, b, target?). */
export function add(a: Aml, b: Aml, target: Aml = NO_TARGET): Aml {
  return concat(0x72, a, b, target);
}

// ---------------------------------------------------------------- resource templates (6.4)

/** IO(Decode16|Decode10, min, max, alignment, length): small item 0x47. */
export function resIo(min: number, max: number, alignment: number, length: number, decode16 = true): Aml {
  return concat(0x47, decode16 ? 1 : 0, le(min, 2), le(max, 2), alignment & 0xff, length & 0xff);
}

function irqMask(irqs: readonly number[]): number[] {
  let m = 0;
  for (const i of irqs) {
    if (!Number.isInteger(i) || i < 0 || i > 15) throw new Error(`AML: ISA IRQ ${i} out of 0-15`);
    m |= 1 << i;
  }
  return le(m, 2);
}

/** IRQNoFlags() { irqs }: small item 0x22 (edge, active high, exclusive). */
export function resIrqNoFlags(...irqs: number[]): Aml {
  return concat(0x22, irqMask(irqs));
}

/** Options of IRQ() and Interrupt(). */
export interface IrqFlags {
  edge: boolean;
  activeLow: boolean;
  shared: boolean;
}

/** IRQ(Edge|Level, ActiveHigh|ActiveLow, Exclusive|Shared) { irqs }: small item 0x23. */
export function resIrq(flags: IrqFlags, ...irqs: number[]): Aml {
  const f = (flags.edge ? 0x01 : 0) | (flags.activeLow ? 0x08 : 0) | (flags.shared ? 0x10 : 0);
  return concat(0x23, irqMask(irqs), f);
}

/** Interrupt(ResourceConsumer, ...) { gsis }: Extended Interrupt large item 0x89. */
export function resInterrupt(flags: IrqFlags, ...gsis: number[]): Aml {
  if (gsis.length < 1 || gsis.length > 255) throw new Error('AML: Interrupt() needs 1-255 numbers');
  const f = 0x01 /* consumer */ | (flags.edge ? 0x02 : 0) | (flags.activeLow ? 0x04 : 0) | (flags.shared ? 0x08 : 0);
  const body = concat(f, gsis.length, ...gsis.map((g) => le(g, 4)));
  return concat(0x89, le(body.length, 2), body);
}

/** Memory32Fixed(ReadWrite|ReadOnly, base, length): large item 0x86. */
export function resMemory32Fixed(readWrite: boolean, base: number, length: number): Aml {
  return concat(0x86, le(9, 2), readWrite ? 1 : 0, le(base, 4), le(length, 4));
}

/** Common flags of the address space descriptors (Word/DWord/QWord). */
export interface AddressFlags {
  /** ResourceConsumer (true) or ResourceProducer (false, a bridge window). */
  consumer?: boolean;
  /** Minimum address fixed (_MIF). Default true. */
  minFixed?: boolean;
  /** Maximum address fixed (_MAF). Default true. */
  maxFixed?: boolean;
  /** Subtractive decode (_DEC). Default false. */
  subtractive?: boolean;
}

function generalFlags(f: AddressFlags): number {
  return (f.consumer ? 0x01 : 0) | (f.subtractive ? 0x02 : 0) | ((f.minFixed ?? true) ? 0x04 : 0) | ((f.maxFixed ?? true) ? 0x08 : 0);
}

/** Ranges of an address space descriptor. */
export interface AddressRange {
  granularity: number | bigint;
  min: number | bigint;
  max: number | bigint;
  translation: number | bigint;
  length: number | bigint;
}

function addressBody(resourceType: number, general: number, typeFlags: number, r: AddressRange, bytes: number): Aml {
  return concat(resourceType, general, typeFlags, le(r.granularity, bytes), le(r.min, bytes), le(r.max, bytes), le(r.translation, bytes), le(r.length, bytes));
}

function largeItem(tag: number, body: Aml): Aml {
  return concat(tag, le(body.length, 2), body);
}

/** WordBusNumber(...): Word Address Space descriptor (0x88) of resource type 2. */
export function resWordBusNumber(flags: AddressFlags, r: AddressRange): Aml {
  return largeItem(0x88, addressBody(2, generalFlags(flags), 0, r, 2));
}

/** WordIO(..., EntireRange): Word Address Space descriptor (0x88) of resource type 1. */
export function resWordIo(flags: AddressFlags, r: AddressRange): Aml {
  return largeItem(0x88, addressBody(1, generalFlags(flags), 0x03 /* _RNG: entire range */, r, 2));
}

/** Memory attributes of DWord/QWordMemory. */
export interface MemoryFlags extends AddressFlags {
  /** Cacheability (_MEM): NonCacheable 0, Cacheable 1, WriteCombining 2, Prefetchable 3. */
  cacheable: 0 | 1 | 2 | 3;
  readWrite: boolean;
}

function memTypeFlags(f: MemoryFlags): number {
  return (f.readWrite ? 0x01 : 0) | (f.cacheable << 1);
}

/** DWordMemory(...): DWord Address Space descriptor (0x87) of resource type 0. */
export function resDWordMemory(flags: MemoryFlags, r: AddressRange): Aml {
  return largeItem(0x87, addressBody(0, generalFlags(flags), memTypeFlags(flags), r, 4));
}

/** QWordMemory(...): QWord Address Space descriptor (0x8A) of resource type 0. */
export function resQWordMemory(flags: MemoryFlags, r: AddressRange): Aml {
  return largeItem(0x8a, addressBody(0, generalFlags(flags), memTypeFlags(flags), r, 8));
}

/**
 * ResourceTemplate() { descriptors }: a Buffer ending with the End Tag (0x79) whose
 * checksum byte is 0 ("treat as checksum OK", 6.4.2.9), as iasl emits.
 */
export function resourceTemplate(...descriptors: Aml[]): Aml {
  return buffer(concat(...descriptors, 0x79, 0x00));
}
