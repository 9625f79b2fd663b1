/**
 * MSI-X vector table and Pending Bit Array (PCI Local Bus Specification 3.0 §6.8.2:
 * MSI-X capability structure §6.8.2.1-6.8.2.5, table entries §6.8.2.6-6.8.2.9, PBA
 * §6.8.2.10; masking and pending semantics §6.8.3.4-6.8.3.5), reusable by any PCI
 * function: the owner maps `tableRead/tableWrite` and `pbaRead` into a BAR, forwards
 * Message Control changes with `setControl`, and raises vectors with `notify`.
 * Messages go out through the injected `deliverMsi(address, data)` (the interrupt
 * router's).
 *
 * A vector raised while masked (function mask or its entry's mask bit) sets its
 * pending bit; unmasking delivers it and clears the bit. Entries reset masked.
 * Left out: 8-byte table accesses as one (the bus splits them into two dword accesses,
 * which the spec allows software to issue), message addresses above 4 GiB (an x86 MSI
 * targets 0xFEExxxxx: a non-zero upper address is logged and not delivered).
 */
import type { AccessSize } from '../device.js';
import { obj, version } from '../state-check.js';

/** PCI capability id of MSI-X. */
export const PCI_CAP_ID_MSIX = 0x11;
/** Length of the MSI-X capability structure. */
export const PCI_MSIX_CAP_BYTES = 12;
/** Message Control bits (§6.8.2.3). */
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
/** Bytes per table entry (§6.8.2.6). */
export const PCI_MSIX_ENTRY_BYTES = 16;
/** Vector Control bit 0: the entry is masked (§6.8.2.9). */
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 1;
/** The "no vector" value virtio uses in vector registers. */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

/** Dependencies of an MSI-X table. */
export interface MsixOptions {
  /** Number of vectors (1..2048). */
  readonly vectors: number;
  /** Sends an MSI message (address, data) to the interrupt controllers. */
  readonly deliverMsi: (address: number, data: number) => void;
  /** Guest-misuse sink. */
  readonly log?: (message: string) => void;
}

/** Saved state `{ v: 1, ... }` of an MSI-X table. */
export interface MsixState {
  readonly v: 1;
  readonly table: number[];
  readonly pending: number[];
  readonly enabled: boolean;
  readonly functionMask: boolean;
}

/** The MSI-X table, PBA and enable/mask state of one function. */
export class MsixTable {
  /** Number of vectors. */
  readonly vectors: number;
  /** MSI-X Enable (Message Control bit 15). */
  private enabledBit = false;
  /** Function Mask (Message Control bit 14). */
  private functionMaskBit = false;
  /** 4 dwords per entry: address low, address high, data, vector control. */
  private readonly table: Uint32Array;
  private readonly pending: Uint8Array;
  private readonly deliverMsi: (address: number, data: number) => void;
  private readonly log: ((message: string) => void) | undefined;
  /** Count of guest misuse (bad accesses, undeliverable messages). */
  guestErrors = 0;

  constructor(opts: MsixOptions) {
    if (!Number.isInteger(opts.vectors) || opts.vectors < 1 || opts.vectors > 2048) throw new RangeError(`MsixTable: ${opts.vectors} vectors (1..2048)`);
    this.vectors = opts.vectors;
    this.table = new Uint32Array(4 * opts.vectors);
    this.pending = new Uint8Array(opts.vectors);
    this.deliverMsi = opts.deliverMsi;
    this.log = opts.log;
    this.reset();
  }

  /** Bytes of the table. */
  get tableBytes(): number {
    return this.vectors * PCI_MSIX_ENTRY_BYTES;
  }

  /** Bytes of the PBA (whole qwords, §6.8.2.10). */
  get pbaBytes(): number {
    return Math.ceil(this.vectors / 64) * 8;
  }

  /** MSI-X is enabled: the function must not use INTx. */
  get enabled(): boolean {
    return this.enabledBit;
  }

  /** The Function Mask bit. */
  get functionMask(): boolean {
    return this.functionMaskBit;
  }

  /** Power-on state: disabled, every entry masked and zero, nothing pending. */
  reset(): void {
    this.table.fill(0);
    for (let v = 0; v < this.vectors; v++) this.table[4 * v + 3] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
    this.pending.fill(0);
    this.enabledBit = false;
    this.functionMaskBit = false;
  }

  /** Applies Message Control's Enable and Function Mask (from a config write). */
  setControl(enabled: boolean, functionMask: boolean): void {
    this.enabledBit = enabled;
    this.functionMaskBit = functionMask;
    this.flushPending();
  }

  /** Whether `vector` is masked by its entry or the function mask. */
  isMasked(vector: number): boolean {
    return this.functionMaskBit || (this.table[4 * vector + 3]! & PCI_MSIX_ENTRY_CTRL_MASKBIT) !== 0;
  }

  /** Whether `vector`'s pending bit is set. */
  isPending(vector: number): boolean {
    return this.pending[vector] === 1;
  }

  /**
   * Raises `vector`: delivers its message, or sets its pending bit while masked.
   * Ignored (and counted) for a vector beyond the table or while MSI-X is disabled.
   */
  notify(vector: number): void {
    if (!this.enabledBit || !Number.isInteger(vector) || vector < 0 || vector >= this.vectors) {
      this.misuse(`notify of vector ${vector} (enabled ${this.enabledBit}, ${this.vectors} vectors)`);
      return;
    }
    if (this.isMasked(vector)) { this.pending[vector] = 1; return; }
    this.send(vector);
  }

  /** Reads the table at byte `offset` (dword-aligned accesses; others read 0). */
  tableRead(offset: number, size: AccessSize): number {
    if (offset < 0 || offset + size > this.tableBytes) return 0;
    const dword = this.table[offset >>> 2]!;
    const shift = (offset & 3) * 8;
    return size === 4 ? dword : (dword >>> shift) & ((1 << (size * 8)) - 1);
  }

  /** Writes the table; unmasking an entry delivers its pending message. */
  tableWrite(offset: number, size: AccessSize, value: number): void {
    if (offset < 0 || offset + size > this.tableBytes) { this.misuse(`table write at 0x${offset.toString(16)} beyond the table`); return; }
    const i = offset >>> 2;
    const shift = (offset & 3) * 8;
    const mask = size === 4 ? 0xffffffff : ((1 << (size * 8)) - 1) << shift;
    let v = ((this.table[i]! & ~mask) | ((value << shift) & mask)) >>> 0;
    if ((i & 3) === 3) v &= PCI_MSIX_ENTRY_CTRL_MASKBIT; // Vector Control: only the mask bit is defined
    this.table[i] = v;
    if ((i & 3) === 3) this.flushPending();
  }

  /** Reads the Pending Bit Array (read-only; writes are ignored by spec). */
  pbaRead(offset: number, size: AccessSize): number {
    let v = 0;
    for (let b = 0; b < size; b++) {
      const byte = offset + b;
      let bits = 0;
      for (let k = 0; k < 8; k++) {
        const vec = byte * 8 + k;
        if (vec < this.vectors && this.pending[vec]) bits |= 1 << k;
      }
      v |= bits << (8 * b);
    }
    return v >>> 0;
  }

  /** State for snapshots. */
  saveState(): MsixState {
    return { v: 1, table: [...this.table], pending: [...this.pending], enabled: this.enabledBit, functionMask: this.functionMaskBit };
  }

  /** Validates then applies a state from `saveState`. */
  loadState(raw: unknown): void {
    const s = obj('msix', raw);
    version('msix', s, 1);
    const table = s['table'];
    const pending = s['pending'];
    if (!Array.isArray(table) || table.length !== this.table.length || !table.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) throw new Error('msix.table: bad entries');
    if (!Array.isArray(pending) || pending.length !== this.vectors || !pending.every((x) => x === 0 || x === 1)) throw new Error('msix.pending: bad bits');
    const enabled = s['enabled'];
    const functionMask = s['functionMask'];
    if (typeof enabled !== 'boolean' || typeof functionMask !== 'boolean') throw new Error('msix: enabled/functionMask must be booleans');
    this.table.set(table as number[]);
    this.pending.set(pending as number[]);
    this.enabledBit = enabled;
    this.functionMaskBit = functionMask;
  }

  private flushPending(): void {
    if (!this.enabledBit) return;
    for (let v = 0; v < this.vectors; v++) {
      if (this.pending[v] && !this.isMasked(v)) this.send(v);
    }
  }

  private send(vector: number): void {
    this.pending[vector] = 0;
    const lo = this.table[4 * vector]!;
    const hi = this.table[4 * vector + 1]!;
    const data = this.table[4 * vector + 2]!;
    if (hi !== 0) { this.misuse(`vector ${vector} targets address 0x${hi.toString(16)}_${lo.toString(16)} above 4 GiB`); return; }
    this.deliverMsi(lo, data);
  }

  private misuse(message: string): void {
    this.guestErrors++;
    this.log?.(`msix: ${message}`);
  }
}
