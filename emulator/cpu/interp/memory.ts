/**
 * Linear and physical memory access of the interpreter: paging (2-level 4 KiB / 4 MiB with
 * PSE, PAE 3-level with NX), accessed/dirty updates, CR0.WP, PGE global pages, and a
 * software TLB kept in typed arrays (no allocation per access).
 *
 * Follows Intel SDM Vol. 3A ch. 4 (4.3 32-bit paging, 4.4 PAE paging, 4.7 page-fault
 * exceptions, 4.10 TLBs). Physical accesses below 4 GiB whose page is backed by RAM go
 * straight to `GuestMemory.u8`; everything else (MMIO, ROM writes, >= 4 GiB: what PAE and
 * PSE-36 4 MiB pages can reach) goes through `VmOps.mmioRead/mmioWrite`. Leaves out:
 * reserved-bit checks of 32-bit paging entries (PSE-36 PDE bits 17-21), PCID, SMEP/SMAP, protection keys, the
 * PDPTE register cache (PDPTEs are read on every walk), caching attributes (PAT/MTRR have
 * no effect). Segment checks on data accesses live one layer up (segment-checks.ts): the
functions here take linear addresses.
 *
 * Every store into RAM (fast path and physical path) checks `codePage` of the backing page
 * and bumps its generation in `codeWatch` when decoded instructions are cached from it
 * (see decode-cache.ts): self-modifying code never runs a stale decode.
 */
import type { VmOps } from '../backend.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { PhysMap } from '../../memory/phys-map.js';
import type { CodeWatch } from '../../memory/code-watch.js';
import { DataWatch, watchHits, watchesPage } from './debug-registers.js';
import { CpuState, CR0_PG, CR0_WP, CR4_PAE, CR4_PGE, CR4_PSE, EXC_PF } from './state.js';

/** TLB flag bits (per linear page). */
export const TLB_SR = 1, TLB_SW = 2, TLB_UR = 4, TLB_UW = 8, TLB_GLOBAL = 16, TLB_RAM_R = 32, TLB_RAM_W = 64, TLB_X = 128;

const TLB_LIST_SIZE = 65536;
const P = 1, RW = 2, US = 4, ACCESSED = 0x20, DIRTY = 0x40, PS = 0x80, G = 0x100;

/** Dependencies of the memory layer. */
export interface MemoryDeps {
  readonly mem: GuestMemory;
  readonly physMap: PhysMap;
  readonly ops: VmOps;
}

/** Memory access layer: TLB, page walks and the fast path. */
export class MemoryCore extends CpuState {
  readonly u8: Uint8Array;
  readonly view: DataView;
  readonly physMap: PhysMap;
  readonly ops: VmOps;
  /** Write tracking of the decode cache (shared with DMA writers through GuestMemory). */
  readonly codeWatch: CodeWatch;
  /** `codeWatch.codePage`: per backing page, 1 while decoded instructions are cached from it. */
  readonly codePage: Uint8Array;

  /** Per linear page: TLB_* bits; 0 = not cached. */
  readonly tlbFlags = new Uint8Array(1 << 20);
  /** Per linear page: byte offset of the backing page in `u8` (valid when TLB_RAM_* set). */
  readonly tlbData = new Int32Array(1 << 20);
  /** Per linear page: physical page number. */
  readonly tlbPhys = new Int32Array(1 << 20);
  /** Per 4 MiB linear region: 1 when some cached entry there came from a 2/4 MiB page (INVLPG must drop the whole region). */
  private readonly tlbLarge = new Uint8Array(1024);
  private readonly tlbList = new Int32Array(TLB_LIST_SIZE);
  private tlbCount = 0;
  private tlbOverflow = false;
  private tlbGeneration = -1;

  /** Flags required for a data read / write / fetch at the current privilege. */
  readMask = TLB_SR | TLB_RAM_R;
  writeMask = TLB_SW | TLB_RAM_W;
  fetchMask = TLB_SR | TLB_RAM_R | TLB_X;

  /**
   * Instruction-fetch page cache: linear page number of the last RAM-backed code page
   * (-1 = none) and the delta from a linear address on it to its index in `u8`. Dropped
   * on every TLB change and privilege change.
   */
  fetchPage = -1;
  fetchDelta = 0;

  /** Enabled data breakpoints (debug-registers.ts); their pages never get the TLB's RAM bits. */
  readonly watch = new DataWatch();
  /** B0-B3 of data breakpoints hit by the current instruction (reported after it, as a trap). */
  watchHit = 0;

  /** PSE-36 (CPUID.1:EDX bit 17): 4 MiB pages of 32-bit paging reach physical addresses up to 2^36. */
  pse36 = true;
  /** A20 gate: when false, physical bit 20 is forced to 0. */
  a20 = true;
  /** IA32_EFER (only NXE, bit 11, has an effect). */
  efer = 0;
  /** True while the current access is an implicit supervisor access (descriptor tables, TSS). */
  private sysAccess = false;
  /**
   * Something outside the instruction stream needs looking at before the next instruction:
   * an MMIO/port access (IRQ line or memory map may have changed), IF/TF changes, kick, NMI.
   */
  attention = true;

  constructor(deps: MemoryDeps) {
    super();
    this.u8 = deps.mem.u8;
    this.view = deps.mem.view;
    this.physMap = deps.physMap;
    this.ops = deps.ops;
    this.codeWatch = deps.mem.codeWatch;
    this.codePage = this.codeWatch.codePage;
  }

  // ---------------------------------------------------------------- TLB management

  /** Updates the privilege-dependent masks after a CPL change. */
  protected updateAccessMasks(): void {
    this.fetchPage = -1;
    if (this.cpl === 3) {
      this.readMask = TLB_UR | TLB_RAM_R; this.writeMask = TLB_UW | TLB_RAM_W; this.fetchMask = TLB_UR | TLB_RAM_R | TLB_X;
    } else {
      this.readMask = TLB_SR | TLB_RAM_R; this.writeMask = TLB_SW | TLB_RAM_W; this.fetchMask = TLB_SR | TLB_RAM_R | TLB_X;
    }
  }

  /** Flushes the TLB; global entries survive when `keepGlobal` (MOV CR3 with CR4.PGE). */
  flushTlb(keepGlobal: boolean): void {
    this.fetchPage = -1;
    if (this.tlbOverflow) {
      // The list lost track of some entries: scan the whole table once and rebuild it.
      const f = this.tlbFlags;
      this.tlbCount = 0;
      this.tlbOverflow = false;
      if (keepGlobal && (this.cr4 & CR4_PGE)) {
        for (let i = 0; i < f.length; i++) {
          if (f[i] === 0) continue;
          if (!(f[i] & TLB_GLOBAL)) { f[i] = 0; continue; }
          if (this.tlbCount < TLB_LIST_SIZE) this.tlbList[this.tlbCount++] = i;
          else this.tlbOverflow = true;
        }
      } else {
        f.fill(0);
        this.tlbLarge.fill(0);
      }
      return;
    }
    let kept = 0;
    const keep = keepGlobal && (this.cr4 & CR4_PGE) !== 0;
    if (!keep) this.tlbLarge.fill(0);
    for (let i = 0; i < this.tlbCount; i++) {
      const p = this.tlbList[i];
      if (keep && (this.tlbFlags[p] & TLB_GLOBAL)) this.tlbList[kept++] = p;
      else this.tlbFlags[p] = 0;
    }
    this.tlbCount = kept;
  }

  /** INVLPG: drops one linear page (global or not). */
  invlpg(linear: number): void {
    this.fetchPage = -1;
    const region = linear >>> 22;
    if (this.tlbLarge[region]) {
      // The page may be part of a large page whose 4 KiB pieces are cached separately.
      this.tlbFlags.fill(0, region << 10, (region + 1) << 10);
      this.tlbLarge[region] = 0;
    } else {
      this.tlbFlags[linear >>> 12] = 0;
    }
  }

  /** Drops everything when the physical map changed (remap of PAM/BARs, ROM/RAM swaps). */
  protected checkPhysGeneration(): void {
    if (this.physMap.generation !== this.tlbGeneration) {
      this.fetchPage = -1;
      this.tlbGeneration = this.physMap.generation;
      this.tlbFlags.fill(0);
      this.tlbLarge.fill(0);
      this.tlbCount = 0;
      this.tlbOverflow = false;
    }
  }

  private tlbInsert(page: number, flags: number, physPage: number): void {
    if (page === this.fetchPage) this.fetchPage = -1;
    if (this.tlbFlags[page] === 0) {
      if (this.tlbCount < TLB_LIST_SIZE) this.tlbList[this.tlbCount++] = page;
      else this.tlbOverflow = true;
    }
    let f = flags;
    if (physPage < 0x100000) {
      const rp = this.physMap.readPage[physPage];
      const wp = this.physMap.writePage[physPage];
      if (rp >= 0) {
        f |= TLB_RAM_R;
        this.tlbData[page] = rp * 4096;
        if (wp === rp) f |= TLB_RAM_W;
      }
      // Watched by a data breakpoint: every access takes the slow path, which checks it.
      if (this.watch.active && watchesPage(this.watch, page)) f &= ~(TLB_RAM_R | TLB_RAM_W);
    }
    this.tlbPhys[page] = physPage;
    this.tlbFlags[page] = f;
  }

  // ---------------------------------------------------------------- page walk

  /**
   * Translates `linear` for an access (write: W; user: the access is made at CPL 3 and not
   * an implicit system access; fetch: instruction fetch) and caches the page. Raises #PF.
   * Returns the physical address (may exceed 2^32 with PAE).
   */
  translate(linear: number, write: boolean, fetch: boolean): number {
    const user = this.cpl === 3 && !this.sysAccess;
    linear |= 0;
    const page = linear >>> 12;
    if (!(this.cr0 & CR0_PG)) {
      let pp = page;
      if (!this.a20) pp &= ~0x100;
      this.tlbInsert(page, TLB_SR | TLB_SW | TLB_UR | TLB_UW | TLB_X, pp);
      return pp * 4096 + (linear & 0xfff);
    }
    const errBase = (write ? 2 : 0) | (user ? 4 : 0) | (fetch && (this.efer & 0x800) && (this.cr4 & CR4_PAE) ? 0x10 : 0);
    const wp = (this.cr0 & CR0_WP) !== 0;
    let physPage: number;
    let allowUser: boolean, allowWrite: boolean, nx = false, global: boolean, dirty: boolean, large = false;
    if (this.cr4 & CR4_PAE) {
      const nxe = (this.efer & 0x800) !== 0;
      const pdpteAddr = ((this.cr3 & ~0x1f) >>> 0) + ((linear >>> 30) << 3);
      const pdpteLo = this.physRead32(pdpteAddr);
      if (!(pdpteLo & P)) this.pageFault(linear, errBase);
      const pdpteHi = this.physRead32(pdpteAddr + 4);
      const pdBase = (pdpteHi & 0xfffff) * 4294967296 + ((pdpteLo & ~0xfff) >>> 0);
      const pdeAddr = pdBase + (((linear >>> 21) & 0x1ff) << 3);
      let pde = this.physRead32(pdeAddr);
      const pdeHi = this.physRead32(pdeAddr + 4);
      if (!(pde & P)) this.pageFault(linear, errBase);
      if ((pdeHi & 0x80000000) && !nxe) this.pageFault(linear, errBase | 1 | 8);
      allowUser = (pde & US) !== 0;
      allowWrite = (pde & RW) !== 0;
      if (nxe && (pdeHi & 0x80000000)) nx = true;
      if (pde & PS) {
        this.checkAccess(linear, errBase, user, write, fetch, allowUser, allowWrite, wp, nx);
        const upd = pde | ACCESSED | (write ? DIRTY : 0);
        if (upd !== pde) { this.physWrite32(pdeAddr, upd); pde = upd; }
        physPage = (pdeHi & 0xfffff) * 1048576 + ((pde >>> 12) & ~0x1ff) + ((linear >>> 12) & 0x1ff);
        large = true;
        global = (pde & G) !== 0;
        dirty = (pde & DIRTY) !== 0;
      } else {
        if (!(pde & ACCESSED)) this.physWrite32(pdeAddr, pde | ACCESSED);
        const ptBase = (pdeHi & 0xfffff) * 4294967296 + ((pde & ~0xfff) >>> 0);
        const pteAddr = ptBase + (((linear >>> 12) & 0x1ff) << 3);
        let pte = this.physRead32(pteAddr);
        const pteHi = this.physRead32(pteAddr + 4);
        if (!(pte & P)) this.pageFault(linear, errBase);
        if ((pteHi & 0x80000000) && !nxe) this.pageFault(linear, errBase | 1 | 8);
        allowUser = allowUser && (pte & US) !== 0;
        allowWrite = allowWrite && (pte & RW) !== 0;
        if (nxe && (pteHi & 0x80000000)) nx = true;
        this.checkAccess(linear, errBase, user, write, fetch, allowUser, allowWrite, wp, nx);
        const upd = pte | ACCESSED | (write ? DIRTY : 0);
        if (upd !== pte) { this.physWrite32(pteAddr, upd); pte = upd; }
        physPage = (pteHi & 0xfffff) * 1048576 + (pte >>> 12);
        global = (pte & G) !== 0;
        dirty = (pte & DIRTY) !== 0;
      }
    } else {
      const pdeAddr = ((this.cr3 & ~0xfff) >>> 0) + ((linear >>> 22) << 2);
      let pde = this.physRead32(pdeAddr);
      if (!(pde & P)) this.pageFault(linear, errBase);
      allowUser = (pde & US) !== 0;
      allowWrite = (pde & RW) !== 0;
      if ((pde & PS) && (this.cr4 & CR4_PSE)) {
        this.checkAccess(linear, errBase, user, write, fetch, allowUser, allowWrite, wp, false);
        const upd = pde | ACCESSED | (write ? DIRTY : 0);
        if (upd !== pde) { this.physWrite32(pdeAddr, upd); pde = upd; }
        physPage = ((pde >>> 12) & ~0x3ff) + ((linear >>> 12) & 0x3ff);
        // PSE-36: PDE bits 13-16 are physical address bits 32-35 (SDM Vol. 3A 4.3, Table 4-4).
        if (this.pse36) physPage += ((pde >>> 13) & 0xf) * 0x100000;
        large = true;
        global = (pde & G) !== 0;
        dirty = (pde & DIRTY) !== 0;
      } else {
        if (!(pde & ACCESSED)) this.physWrite32(pdeAddr, pde | ACCESSED);
        const pteAddr = ((pde & ~0xfff) >>> 0) + (((linear >>> 12) & 0x3ff) << 2);
        let pte = this.physRead32(pteAddr);
        if (!(pte & P)) this.pageFault(linear, errBase);
        allowUser = allowUser && (pte & US) !== 0;
        allowWrite = allowWrite && (pte & RW) !== 0;
        this.checkAccess(linear, errBase, user, write, fetch, allowUser, allowWrite, wp, false);
        const upd = pte | ACCESSED | (write ? DIRTY : 0);
        if (upd !== pte) { this.physWrite32(pteAddr, upd); pte = upd; }
        physPage = pte >>> 12;
        global = (pte & G) !== 0;
        dirty = (pte & DIRTY) !== 0;
      }
    }
    if (!this.a20) physPage = physPage - (physPage & 0x100);
    let f = TLB_SR | TLB_X;
    if (nx) f &= ~TLB_X;
    if (allowUser) f |= TLB_UR;
    if (dirty) {
      if (allowWrite || !wp) f |= TLB_SW;
      if (allowWrite && allowUser) f |= TLB_UW;
    }
    if (global && (this.cr4 & CR4_PGE)) f |= TLB_GLOBAL;
    if (large) this.tlbLarge[linear >>> 22] = 1;
    if (physPage < 0x80000000) this.tlbInsert(page, f, physPage);
    return physPage * 4096 + (linear & 0xfff);
  }

  private checkAccess(linear: number, errBase: number, user: boolean, write: boolean, fetch: boolean,
    allowUser: boolean, allowWrite: boolean, wp: boolean, nx: boolean): void {
    if ((user && !allowUser) || (write && !allowWrite && (user || wp)) || (fetch && nx)) {
      this.pageFault(linear, errBase | 1);
    }
  }

  private pageFault(linear: number, code: number): never {
    this.cr2 = linear | 0;
    return this.raise(EXC_PF, code);
  }

  // ---------------------------------------------------------------- physical access

  /** Reads a byte at guest-physical `gpa`. */
  physRead8(gpa: number): number {
    if (gpa < 4294967296) {
      const bp = this.physMap.readPage[gpa >>> 12];
      if (bp >= 0) return this.u8[bp * 4096 + (gpa & 0xfff)];
    }
    this.attention = true;
    return this.ops.mmioRead(gpa, 1) & 0xff;
  }

  /** Reads 16 bits at guest-physical `gpa` (must not cross a page). */
  physRead16(gpa: number): number {
    if (gpa < 4294967296) {
      const bp = this.physMap.readPage[gpa >>> 12];
      if (bp >= 0) return this.view.getUint16(bp * 4096 + (gpa & 0xfff), true);
    }
    this.attention = true;
    return this.ops.mmioRead(gpa, 2) & 0xffff;
  }

  /** Reads 32 bits (as int32) at guest-physical `gpa` (must not cross a page). */
  physRead32(gpa: number): number {
    if (gpa < 4294967296) {
      const bp = this.physMap.readPage[gpa >>> 12];
      if (bp >= 0) return this.view.getInt32(bp * 4096 + (gpa & 0xfff), true);
    }
    this.attention = true;
    return this.ops.mmioRead(gpa, 4) | 0;
  }

  /** Writes a byte at guest-physical `gpa`. */
  physWrite8(gpa: number, v: number): void {
    if (gpa < 4294967296) {
      const bp = this.physMap.writePage[gpa >>> 12];
      if (bp >= 0) { this.u8[bp * 4096 + (gpa & 0xfff)] = v; if (this.codePage[bp] !== 0) this.codeWatch.pageWritten(bp); return; }
    }
    this.attention = true;
    this.ops.mmioWrite(gpa, 1, v & 0xff);
  }

  /** Writes 16 bits at guest-physical `gpa` (must not cross a page). */
  physWrite16(gpa: number, v: number): void {
    if (gpa < 4294967296) {
      const bp = this.physMap.writePage[gpa >>> 12];
      if (bp >= 0) { this.view.setUint16(bp * 4096 + (gpa & 0xfff), v, true); if (this.codePage[bp] !== 0) this.codeWatch.pageWritten(bp); return; }
    }
    this.attention = true;
    this.ops.mmioWrite(gpa, 2, v & 0xffff);
  }

  /** Writes 32 bits at guest-physical `gpa` (must not cross a page). */
  physWrite32(gpa: number, v: number): void {
    if (gpa < 4294967296) {
      const bp = this.physMap.writePage[gpa >>> 12];
      if (bp >= 0) { this.view.setInt32(bp * 4096 + (gpa & 0xfff), v, true); if (this.codePage[bp] !== 0) this.codeWatch.pageWritten(bp); return; }
    }
    this.attention = true;
    this.ops.mmioWrite(gpa, 4, v >>> 0);
  }

  // ---------------------------------------------------------------- linear access (fast path + slow path)

  /**
   * Records the data breakpoints an access hits (reported as a #DB trap after the
   * instruction); `attention` makes REP string instructions stop after this iteration.
   */
  private noteWatch(lin: number, size: number, write: boolean): void {
    const hits = watchHits(this.watch, lin, size, write);
    if (hits !== 0) { this.watchHit |= hits; this.attention = true; }
  }

  /** Reads a byte at a linear address with the current privilege. */
  readU8(lin: number): number {
    const p = lin >>> 12;
    if ((this.tlbFlags[p] & this.readMask) === this.readMask) return this.u8[this.tlbData[p] + (lin & 0xfff)];
    if (this.watch.active) this.noteWatch(lin, 1, false);
    return this.physRead8(this.translate(lin, false, false));
  }

  /** Reads 16 bits at a linear address. */
  readU16(lin: number): number {
    const p = lin >>> 12;
    if ((lin & 0xfff) !== 0xfff) {
      if ((this.tlbFlags[p] & this.readMask) === this.readMask) return this.view.getUint16(this.tlbData[p] + (lin & 0xfff), true);
      if (this.watch.active) this.noteWatch(lin, 2, false);
      return this.physRead16(this.translate(lin, false, false));
    }
    return this.readU8(lin) | (this.readU8(lin + 1) << 8);
  }

  /** Reads 32 bits (as int32) at a linear address. */
  readU32(lin: number): number {
    const p = lin >>> 12;
    if ((lin & 0xfff) <= 0xffc) {
      if ((this.tlbFlags[p] & this.readMask) === this.readMask) return this.view.getInt32(this.tlbData[p] + (lin & 0xfff), true);
      if (this.watch.active) this.noteWatch(lin, 4, false);
      return this.physRead32(this.translate(lin, false, false));
    }
    // Cross-page: translate both pages before reading.
    this.translate(lin + 3, false, false);
    return this.readU8(lin) | (this.readU8(lin + 1) << 8) | (this.readU8(lin + 2) << 16) | (this.readU8(lin + 3) << 24);
  }

  /** Writes a byte at a linear address. */
  writeU8(lin: number, v: number): void {
    const p = lin >>> 12;
    if ((this.tlbFlags[p] & this.writeMask) === this.writeMask) {
      const o = this.tlbData[p];
      this.u8[o + (lin & 0xfff)] = v;
      if (this.codePage[o >>> 12] !== 0) this.codeWatch.pageWritten(o >>> 12);
      return;
    }
    if (this.watch.active) this.noteWatch(lin, 1, true);
    this.physWrite8(this.translate(lin, true, false), v);
  }

  /** Writes 16 bits at a linear address. */
  writeU16(lin: number, v: number): void {
    const p = lin >>> 12;
    if ((lin & 0xfff) !== 0xfff) {
      if ((this.tlbFlags[p] & this.writeMask) === this.writeMask) {
        const o = this.tlbData[p];
        this.view.setUint16(o + (lin & 0xfff), v, true);
        if (this.codePage[o >>> 12] !== 0) this.codeWatch.pageWritten(o >>> 12);
        return;
      }
      if (this.watch.active) this.noteWatch(lin, 2, true);
      this.physWrite16(this.translate(lin, true, false), v);
      return;
    }
    if (this.watch.active) this.noteWatch(lin, 2, true);
    const a = this.translate(lin, true, false);
    const b = this.translate(lin + 1, true, false);
    this.physWrite8(a, v);
    this.physWrite8(b, v >> 8);
  }

  /** Writes 32 bits at a linear address. */
  writeU32(lin: number, v: number): void {
    const p = lin >>> 12;
    if ((lin & 0xfff) <= 0xffc) {
      if ((this.tlbFlags[p] & this.writeMask) === this.writeMask) {
        const o = this.tlbData[p];
        this.view.setInt32(o + (lin & 0xfff), v, true);
        if (this.codePage[o >>> 12] !== 0) this.codeWatch.pageWritten(o >>> 12);
        return;
      }
      if (this.watch.active) this.noteWatch(lin, 4, true);
      this.physWrite32(this.translate(lin, true, false), v);
      return;
    }
    if (this.watch.active) this.noteWatch(lin, 4, true);
    this.translate(lin, true, false);
    this.translate(lin + 3, true, false);
    for (let i = 0; i < 4; i++) this.physWrite8(this.translate(lin + i, true, false), v >> (i * 8));
  }

  /** Checks that `size` bytes at `lin` are writable (for instructions that must not partially commit). */
  probeWrite(lin: number, size: number): void {
    const p = lin >>> 12;
    if ((this.tlbFlags[p] & this.writeMask) !== this.writeMask) this.translate(lin, true, false);
    if (((lin + size - 1) >>> 12) !== p) this.translate(lin + size - 1, true, false);
  }

  /** Fetches a byte of code at linear `lin` (execute access). */
  fetchLin8(lin: number): number {
    const p = lin >>> 12;
    if (p === this.fetchPage) return this.u8[this.fetchDelta + (lin & 0xfff)];
    if ((this.tlbFlags[p] & this.fetchMask) !== this.fetchMask) {
      const v = this.physRead8(this.translate(lin, false, true));
      if ((this.tlbFlags[p] & this.fetchMask) !== this.fetchMask) return v; // not RAM: no caching
    }
    this.fetchPage = p;
    this.fetchDelta = this.tlbData[p];
    return this.u8[this.fetchDelta + (lin & 0xfff)];
  }

  /** Implicit supervisor-mode read (GDT/LDT/IDT/TSS), 32 bits. */
  sysRead32(lin: number): number {
    this.sysAccess = true;
    try {
      if ((lin & 0xfff) <= 0xffc) return this.physRead32(this.translate(lin, false, false));
      return this.physRead8(this.translate(lin, false, false)) | (this.physRead8(this.translate(lin + 1, false, false)) << 8) |
        (this.physRead8(this.translate(lin + 2, false, false)) << 16) | (this.physRead8(this.translate(lin + 3, false, false)) << 24);
    } finally { this.sysAccess = false; }
  }

  /** Implicit supervisor-mode read, 16 bits. */
  sysRead16(lin: number): number {
    this.sysAccess = true;
    try {
      return this.physRead8(this.translate(lin, false, false)) | (this.physRead8(this.translate(lin + 1, false, false)) << 8);
    } finally { this.sysAccess = false; }
  }

  /** Implicit supervisor-mode read, 8 bits. */
  sysRead8(lin: number): number {
    this.sysAccess = true;
    try { return this.physRead8(this.translate(lin, false, false)); } finally { this.sysAccess = false; }
  }

  /** Implicit supervisor-mode write, 32 bits. */
  sysWrite32(lin: number, v: number): void {
    this.sysAccess = true;
    try {
      for (let i = 0; i < 4; i++) this.physWrite8(this.translate(lin + i, true, false), v >> (i * 8));
    } finally { this.sysAccess = false; }
  }

  /** Implicit supervisor-mode write, 16 bits. */
  sysWrite16(lin: number, v: number): void {
    this.sysAccess = true;
    try {
      this.physWrite8(this.translate(lin, true, false), v);
      this.physWrite8(this.translate(lin + 1, true, false), v >> 8);
    } finally { this.sysAccess = false; }
  }

  /** Implicit supervisor-mode write, 8 bits. */
  sysWrite8(lin: number, v: number): void {
    this.sysAccess = true;
    try { this.physWrite8(this.translate(lin, true, false), v); } finally { this.sysAccess = false; }
  }
}
