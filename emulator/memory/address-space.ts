/**
 * AddressSpace: a QEMU-style memory region tree for the guest-physical address space,
 * flattened into the CPU's page tables (PhysMap) and a sorted range table for the slow
 * path.
 *
 * Follows QEMU docs/devel/memory.rst: RAM, ROM, MMIO, alias and container regions;
 * subregions carry a priority; inside a container a higher-priority subregion hides a
 * lower one, a container's children compete only inside their container; an alias shows
 * a window [offset, offset+size) of its target region (which need not be in the tree).
 * Rendering is QEMU's `render_memory_region`: children are drawn highest priority first
 * and each only fills the gaps left by those drawn before it.
 *
 * Flattening produces (a) PhysMap entries for every 4 KiB page fully covered by one RAM
 * or ROM range whose backing bytes are page-aligned (ROM and read-only aliases are
 * mapped for reads only), every other page goes to the slow path; (b) a sorted list of
 * flat ranges for `mmioRead`/`mmioWrite`, which serves MMIO handlers, RAM/ROM bytes on
 * pages that could not be mapped (sub-page regions), drops ROM writes, and reads
 * all-ones from unassigned addresses (counted). Only pages whose flat ranges changed are
 * rewritten in the PhysMap.
 *
 * Changes (add/remove, enable/disable, priority, address, alias offset, read-only) re-flatten
 * at once, or once at the end of a `transaction`. Two subregions of one container that
 * overlap at equal priority are a board bug and throw, unless one of them was added with
 * `mayOverlap` (QEMU's add_subregion_overlap, for PCI BARs a guest can place anywhere);
 * then the one added later wins.
 *
 * Leaves out: 64-bit addresses (the PhysMap covers the low 4 GiB), IOMMUs, dirty logging,
 * ROM devices in MMIO mode, access-size rules per region beyond IoHandler min/max, and
 * distinguishing read from write cycles beyond ROM/read-only (PAM "write-enable only"
 * is approximated by the board, as in QEMU).
 */
import type { AccessSize, IoHandler } from '../devices/device.js';
import { PAGE_SIZE, type GuestMemory, type MemoryBlock } from './guest-memory.js';
import type { MmioDispatch, PhysMap } from './phys-map.js';

/** What a region is. */
export type RegionKind = 'ram' | 'rom' | 'mmio' | 'alias' | 'container';

/** Options of `MemoryRegion.addSubregion`. */
export interface SubregionOptions {
  /** Higher wins where siblings overlap (default 0). */
  priority?: number;
  /** Allows overlapping an equal-priority sibling (the later-added one wins). */
  mayOverlap?: boolean;
}

/** One entry of the flattened view: [start, end) served by one leaf region. */
export interface FlatRange {
  readonly start: number;
  /** Exclusive end. */
  readonly end: number;
  readonly kind: 'ram' | 'rom' | 'mmio';
  /** The leaf region (RAM, ROM or MMIO) serving the range. */
  readonly region: MemoryRegion;
  /** Offset inside `region` that corresponds to `start`. */
  readonly regionOffset: number;
  /** RAM made read-only by a read-only alias or region on the path; always true for ROM. */
  readonly readonly: boolean;
}

const ONES: Record<AccessSize, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

/**
 * A node of the region tree. Create regions through an AddressSpace; all mutators
 * re-flatten that space.
 */
export class MemoryRegion {
  private parentRegion: MemoryRegion | undefined;
  private addr = 0;
  private prio = 0;
  private overlapOk = false;
  private isEnabled = true;
  private isReadonly: boolean;
  private aliasOff: number;
  /** Insertion counter among siblings: the later one wins equal-priority overlaps. */
  seq = 0;
  /** Children of a container, in insertion order. */
  readonly children: MemoryRegion[] = [];

  /** @internal use the AddressSpace factories. */
  constructor(
    /** The space whose views this region feeds. */
    readonly space: AddressSpace,
    /** Diagnostic name. */
    readonly name: string,
    /** Region kind. */
    readonly kind: RegionKind,
    /** Size in bytes. */
    readonly sizeBytes: number,
    /** RAM/ROM: backing block and byte offset in it. */
    readonly backing: { readonly block: MemoryBlock; readonly offset: number } | undefined,
    /** MMIO: the handler, which sees offsets from the region's start. */
    readonly handler: IoHandler | undefined,
    /** Alias: the region it shows. */
    readonly target: MemoryRegion | undefined,
    aliasOffset: number,
  ) {
    if (!Number.isInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes > 2 ** 32) {
      throw new RangeError(`MemoryRegion ${name}: size ${sizeBytes} must be an integer in (0, 4 GiB]`);
    }
    this.isReadonly = kind === 'rom';
    this.aliasOff = aliasOffset;
  }

  /** The container this region sits in, if any. */
  get parent(): MemoryRegion | undefined {
    return this.parentRegion;
  }
  /** Address inside the parent container. */
  get address(): number {
    return this.addr;
  }
  /** Priority among siblings. */
  get priority(): number {
    return this.prio;
  }
  /** Whether the region (and its subtree) is visible. */
  get enabled(): boolean {
    return this.isEnabled;
  }
  /** Whether writes are refused (ROM, or a RAM/alias made read-only). */
  get readonly(): boolean {
    return this.isReadonly;
  }
  /** Alias: offset into the target. */
  get aliasOffset(): number {
    return this.aliasOff;
  }
  /** True if added with `mayOverlap`. */
  get mayOverlap(): boolean {
    return this.overlapOk;
  }

  /** Places `child` at `address` in this container. Throws on equal-priority overlap. */
  addSubregion(child: MemoryRegion, address: number, opts: SubregionOptions = {}): void {
    if (this.kind !== 'container') throw new Error(`MemoryRegion ${this.name}: only containers have subregions`);
    if (child.space !== this.space) throw new Error(`MemoryRegion ${child.name}: belongs to another AddressSpace`);
    if (child.parentRegion !== undefined) throw new Error(`MemoryRegion ${child.name}: already inside ${child.parentRegion.name}`);
    if (child === this.space.root) throw new Error('MemoryRegion: the root cannot be a subregion');
    if (child === this) throw new Error(`MemoryRegion ${child.name}: cannot contain itself`);
    for (let p = this.parentRegion; p; p = p.parentRegion) {
      if (p === child) throw new Error(`MemoryRegion ${child.name}: adding it to ${this.name} would make a cycle`);
    }
    checkAddress(child.name, address, child.sizeBytes, this);
    const priority = opts.priority ?? 0;
    this.checkOverlap(child, address, priority, opts.mayOverlap ?? false);
    child.addr = address;
    child.prio = priority;
    child.overlapOk = opts.mayOverlap ?? false;
    child.seq = this.space.nextSeq();
    child.parentRegion = this;
    this.children.push(child);
    this.space.changed();
  }

  /** Removes `child` from this container. */
  removeSubregion(child: MemoryRegion): void {
    const i = this.children.indexOf(child);
    if (i < 0) throw new Error(`MemoryRegion ${child.name}: not a subregion of ${this.name}`);
    this.children.splice(i, 1);
    child.parentRegion = undefined;
    this.space.changed();
  }

  /** Shows or hides the region (PAM, VGA window, PCI command register). */
  setEnabled(enabled: boolean): void {
    if (this.isEnabled === enabled) return;
    this.isEnabled = enabled;
    this.space.changed();
  }

  /** Changes the priority among siblings. */
  setPriority(priority: number): void {
    if (this.prio === priority) return;
    this.parentRegion?.checkOverlap(this, this.addr, priority, this.overlapOk);
    this.prio = priority;
    this.space.changed();
  }

  /** Moves the region inside its container (PCI BAR writes). */
  setAddress(address: number): void {
    if (this.addr === address) return;
    if (this.parentRegion) {
      checkAddress(this.name, address, this.sizeBytes, this.parentRegion);
      this.parentRegion.checkOverlap(this, address, this.prio, this.overlapOk);
    }
    this.addr = address;
    this.space.changed();
  }

  /** Alias only: changes which part of the target is shown. */
  setAliasOffset(offset: number): void {
    if (this.kind !== 'alias') throw new Error(`MemoryRegion ${this.name}: not an alias`);
    if (this.aliasOff === offset) return;
    this.aliasOff = offset;
    this.space.changed();
  }

  /** Makes RAM (or everything seen through an alias) read-only or writable. ROM stays read-only. */
  setReadonly(readonly: boolean): void {
    if (this.kind === 'rom' || this.kind === 'mmio' || this.kind === 'container') {
      throw new Error(`MemoryRegion ${this.name}: setReadonly applies to RAM and alias regions`);
    }
    if (this.isReadonly === readonly) return;
    this.isReadonly = readonly;
    this.space.changed();
  }

  private checkOverlap(child: MemoryRegion, address: number, priority: number, mayOverlap: boolean): void {
    for (const s of this.children) {
      if (s === child || s.prio !== priority || s.overlapOk || mayOverlap) continue;
      if (address < s.addr + s.sizeBytes && s.addr < address + child.sizeBytes) {
        throw new Error(
          `MemoryRegion ${this.name}: ${child.name} at ${hex(address)}+${hex(child.sizeBytes)} overlaps ` +
          `${s.name} at ${hex(s.addr)}+${hex(s.sizeBytes)} at equal priority ${priority}`);
      }
    }
  }
}

/**
 * Addresses are non-negative integers below 2^32. A subregion may stick out of its
 * container (a guest can program a BAR at 0xfffff000 while sizing it); what lies outside
 * is clipped when rendering, as in QEMU.
 */
function checkAddress(name: string, address: number, size: number, parent: MemoryRegion): void {
  if (!Number.isInteger(address) || address < 0 || address >= 2 ** 32) {
    throw new RangeError(`MemoryRegion ${name}: address ${address} (+${hex(size)}) in ${parent.name} must be an integer in [0, 2^32)`);
  }
}

/** Dependencies of AddressSpace. */
export interface AddressSpaceOptions {
  /** The backing store RAM/ROM regions point into. */
  memory: GuestMemory;
  /** The page tables this space keeps up to date. */
  physMap: PhysMap;
  /** Optional logger for guest accesses to unassigned addresses (rate-limit there). */
  log?: (message: string) => void;
}

/** The guest-physical address space of one machine (the low 4 GiB). */
export class AddressSpace implements MmioDispatch {
  /** The root container, 4 GiB. */
  readonly root: MemoryRegion;
  /** Reads from addresses no region serves. */
  unassignedReads = 0;
  /** Writes to addresses no region serves. */
  unassignedWrites = 0;
  /** Writes dropped because they hit ROM or read-only RAM through the slow path. */
  romWrites = 0;
  /** Number of times the tree was flattened. */
  flattenCount = 0;

  private readonly memory: GuestMemory;
  private readonly physMap: PhysMap;
  private readonly log: ((message: string) => void) | undefined;
  private flat: FlatRange[] = [];
  private seqCounter = 0;
  private batchDepth = 0;
  private dirty = false;

  constructor(opts: AddressSpaceOptions) {
    this.memory = opts.memory;
    this.physMap = opts.physMap;
    this.log = opts.log;
    this.root = new MemoryRegion(this, 'system', 'container', 2 ** 32, undefined, undefined, undefined, 0);
  }

  /** A RAM region over `sizeBytes` of `block` starting at `blockOffset`. */
  ram(name: string, block: MemoryBlock, blockOffset: number, sizeBytes: number): MemoryRegion {
    checkBacking(name, block, blockOffset, sizeBytes);
    return new MemoryRegion(this, name, 'ram', sizeBytes, { block, offset: blockOffset }, undefined, undefined, 0);
  }

  /** A ROM region (reads from the block, writes dropped). */
  rom(name: string, block: MemoryBlock, blockOffset: number, sizeBytes: number): MemoryRegion {
    checkBacking(name, block, blockOffset, sizeBytes);
    return new MemoryRegion(this, name, 'rom', sizeBytes, { block, offset: blockOffset }, undefined, undefined, 0);
  }

  /** An MMIO region; `handler` sees offsets in [0, sizeBytes). */
  mmio(name: string, sizeBytes: number, handler: IoHandler): MemoryRegion {
    return new MemoryRegion(this, name, 'mmio', sizeBytes, undefined, handler, undefined, 0);
  }

  /** An alias showing [offset, offset+sizeBytes) of `target`. */
  alias(name: string, target: MemoryRegion, offset: number, sizeBytes: number): MemoryRegion {
    if (target.space !== this) throw new Error(`MemoryRegion ${name}: alias target ${target.name} belongs to another AddressSpace`);
    return new MemoryRegion(this, name, 'alias', sizeBytes, undefined, undefined, target, offset);
  }

  /** An empty container. */
  container(name: string, sizeBytes: number): MemoryRegion {
    return new MemoryRegion(this, name, 'container', sizeBytes, undefined, undefined, undefined, 0);
  }

  /** Runs `fn` and flattens once at the end (QEMU memory_region_transaction_begin/commit). */
  transaction(fn: () => void): void {
    this.batchDepth++;
    try {
      fn();
    } finally {
      this.batchDepth--;
      if (this.batchDepth === 0 && this.dirty) this.flatten();
    }
  }

  /** The current flat view, sorted by address. */
  flatView(): readonly FlatRange[] {
    return this.flat;
  }

  /** The flat range containing `gpa`, if any. */
  lookup(gpa: number): FlatRange | undefined {
    const f = this.flat;
    let lo = 0;
    let hi = f.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = f[mid]!;
      if (gpa < r.start) hi = mid - 1;
      else if (gpa >= r.end) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  /** Slow-path read of `size` bytes at `gpa` (little-endian). */
  mmioRead(gpa: number, size: AccessSize): number {
    gpa >>>= 0;
    const r = this.lookup(gpa);
    if (r !== undefined && gpa + size <= r.end) return this.readIn(r, gpa, size);
    if (size === 1) {
      this.unassignedReads++;
      this.log?.(`address-space: read from unassigned ${hex(gpa)}`);
      return 0xff;
    }
    // Straddles ranges or reaches into a hole: split (little-endian).
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v * 256) + this.mmioRead((gpa + i) >>> 0, 1);
    return v >>> 0;
  }

  /** Slow-path write of `size` bytes at `gpa` (little-endian). */
  mmioWrite(gpa: number, size: AccessSize, value: number): void {
    gpa >>>= 0;
    const r = this.lookup(gpa);
    if (r !== undefined && gpa + size <= r.end) {
      this.writeIn(r, gpa, size, value);
      return;
    }
    if (size === 1) {
      this.unassignedWrites++;
      this.log?.(`address-space: write to unassigned ${hex(gpa)}`);
      return;
    }
    for (let i = 0; i < size; i++) this.mmioWrite((gpa + i) >>> 0, 1, (value >>> (i * 8)) & 0xff);
  }

  /** @internal */
  nextSeq(): number {
    return ++this.seqCounter;
  }

  /** @internal called by regions after each change. */
  changed(): void {
    if (this.batchDepth > 0) this.dirty = true;
    else this.flatten();
  }

  private readIn(r: FlatRange, gpa: number, size: AccessSize): number {
    const off = r.regionOffset + (gpa - r.start);
    if (r.kind === 'mmio') return dispatchRead(r.region.handler!, off, size);
    const at = r.region.backing!.block.offset + r.region.backing!.offset + off;
    const u8 = this.memory.u8;
    if (size === 1) return u8[at]!;
    if (size === 2) return u8[at]! | (u8[at + 1]! << 8);
    return (u8[at]! | (u8[at + 1]! << 8) | (u8[at + 2]! << 16) | (u8[at + 3]! << 24)) >>> 0;
  }

  private writeIn(r: FlatRange, gpa: number, size: AccessSize, value: number): void {
    const off = r.regionOffset + (gpa - r.start);
    if (r.kind === 'mmio') {
      dispatchWrite(r.region.handler!, off, size, value);
      return;
    }
    if (r.readonly) {
      this.romWrites++;
      return;
    }
    const at = r.region.backing!.block.offset + r.region.backing!.offset + off;
    const u8 = this.memory.u8;
    for (let i = 0; i < size; i++) u8[at + i] = (value >>> (i * 8)) & 0xff;
    this.memory.notifyWrite(at, size);
  }

  private flatten(): void {
    this.dirty = false;
    this.flattenCount++;
    const next: FlatRange[] = [];
    render(next, this.root, 0, 0, 2 ** 32, false);
    const old = this.flat;
    this.flat = next;
    // Pages whose flat ranges changed: the symmetric difference of the two views.
    const changed: Array<[number, number]> = [];
    collectDiff(old, next, changed);
    collectDiff(next, old, changed);
    changed.sort((a, b) => a[0] - b[0]);
    let curStart = -1;
    let curEnd = -1;
    for (const [s, e] of changed) {
      const ps = Math.floor(s / PAGE_SIZE);
      const pe = Math.ceil(e / PAGE_SIZE);
      if (ps <= curEnd) { curEnd = Math.max(curEnd, pe); continue; }
      if (curStart >= 0) this.applyPages(curStart, curEnd);
      curStart = ps;
      curEnd = pe;
    }
    if (curStart >= 0) this.applyPages(curStart, curEnd);
  }

  /** Recomputes PhysMap pages [ps, pe) from the current flat view. */
  private applyPages(ps: number, pe: number): void {
    this.physMap.unmap(ps, pe - ps);
    const lo = ps * PAGE_SIZE;
    const hi = pe * PAGE_SIZE;
    for (const r of this.flat) {
      if (r.end <= lo || r.start >= hi || r.kind === 'mmio') continue;
      const bytesStart = r.region.backing!.block.offset + r.region.backing!.offset + r.regionOffset;
      // Backing and guest addresses must share their page offset to map whole pages.
      if ((bytesStart - r.start) % PAGE_SIZE !== 0) continue;
      const first = Math.max(Math.ceil(r.start / PAGE_SIZE), ps);
      const last = Math.min(Math.floor(r.end / PAGE_SIZE), pe);
      if (last <= first) continue;
      const backingPage = (bytesStart + (first * PAGE_SIZE - r.start)) / PAGE_SIZE;
      this.physMap.map(first, last - first, backingPage, !r.readonly);
    }
  }
}

function checkBacking(name: string, block: MemoryBlock, blockOffset: number, size: number): void {
  if (!Number.isInteger(blockOffset) || blockOffset < 0 || blockOffset + size > block.sizeBytes) {
    throw new RangeError(`MemoryRegion ${name}: ${hex(blockOffset)}+${hex(size)} outside block ${block.name} (${hex(block.sizeBytes)} bytes)`);
  }
}

/** Draws `mr`, placed at absolute `base`, into the gaps of `out` within [clipLo, clipHi). */
function render(out: FlatRange[], mr: MemoryRegion, base: number, clipLo: number, clipHi: number, readonly: boolean): void {
  if (!mr.enabled) return;
  const lo = Math.max(clipLo, base);
  const hi = Math.min(clipHi, base + mr.sizeBytes);
  if (hi <= lo) return;
  const ro = readonly || mr.readonly;
  switch (mr.kind) {
    case 'alias':
      render(out, mr.target!, base - mr.aliasOffset, lo, hi, ro);
      return;
    case 'container': {
      const kids = [...mr.children].sort((a, b) => (b.priority - a.priority) || (b.seq - a.seq));
      for (const c of kids) render(out, c, base + c.address, lo, hi, ro);
      return;
    }
    default:
      fillGaps(out, mr, base, lo, hi, ro);
  }
}

function fillGaps(out: FlatRange[], mr: MemoryRegion, base: number, lo: number, hi: number, ro: boolean): void {
  const kind = mr.kind as 'ram' | 'rom' | 'mmio';
  // Find the first range ending after lo.
  let i = 0;
  while (i < out.length && out[i]!.end <= lo) i++;
  let pos = lo;
  while (pos < hi) {
    const next = out[i];
    if (next !== undefined && next.start <= pos) {
      pos = next.end;
      i++;
      continue;
    }
    const gapEnd = next === undefined ? hi : Math.min(hi, next.start);
    out.splice(i, 0, { start: pos, end: gapEnd, kind, region: mr, regionOffset: pos - base, readonly: ro || kind === 'rom' });
    i++;
    pos = gapEnd;
  }
}

function sameRange(a: FlatRange, b: FlatRange): boolean {
  return a.start === b.start && a.end === b.end && a.region === b.region && a.regionOffset === b.regionOffset && a.readonly === b.readonly;
}

/** Appends the spans of ranges in `a` that have no identical counterpart in `b`. */
function collectDiff(a: readonly FlatRange[], b: readonly FlatRange[], out: Array<[number, number]>): void {
  let j = 0;
  for (const r of a) {
    while (j < b.length && b[j]!.start < r.start) j++;
    const m = b[j];
    if (m === undefined || !sameRange(r, m)) out.push([r.start, r.end]);
  }
}

/** Dispatches a read to a handler, adapting to its access sizes like the PioBus does. */
function dispatchRead(h: IoHandler, off: number, size: AccessSize): number {
  if (size >= h.minSize && size <= h.maxSize) return h.read(off, size) >>> 0;
  if (size < h.minSize) {
    const wide = h.minSize;
    const aligned = off - (off % wide);
    return (h.read(aligned, wide) >>> ((off - aligned) * 8)) & ONES[size];
  }
  const half = (size >> 1) as AccessSize;
  const lo = dispatchRead(h, off, half);
  const hi = dispatchRead(h, off + half, half);
  return size === 4 ? ((hi << 16) | lo) >>> 0 : (hi << 8) | lo;
}

/** Dispatches a write to a handler, adapting to its access sizes like the PioBus does. */
function dispatchWrite(h: IoHandler, off: number, size: AccessSize, value: number): void {
  if (size >= h.minSize && size <= h.maxSize) {
    h.write(off, size, (value & ONES[size]) >>> 0);
    return;
  }
  if (size < h.minSize) {
    const wide = h.minSize;
    const aligned = off - (off % wide);
    h.write(aligned, wide, ((value & ONES[size]) << ((off - aligned) * 8)) >>> 0);
    return;
  }
  const half = (size >> 1) as AccessSize;
  dispatchWrite(h, off, half, value & ONES[half]);
  dispatchWrite(h, off + half, half, (value >>> (half * 8)) & ONES[half]);
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}
