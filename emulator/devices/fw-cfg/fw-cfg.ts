/**
 * FwCfg: QEMU's firmware configuration device ("fw_cfg") in its x86 I/O-port form, the
 * channel through which SeaBIOS and OVMF learn the machine's configuration.
 *
 * Follows QEMU docs/specs/fw_cfg.rst: selector register (16-bit, port 510h; bit 14 the
 * legacy write channel, ignored for lookup; bit 15 arch-local items), data register
 * (8-bit, port 511h; auto-increments; reads past an item's end, or of an absent item,
 * return 0; writes are ignored as in QEMU >= 2.4), DMA address register (64-bit
 * big-endian at 514h: a 32-bit write to 514h loads the high half, a 32-bit write to 518h
 * loads the low half and starts the transfer; reading returns "QEMU CFG"), the
 * FWCfgDmaAccess structure (big-endian control/length/address; ERROR, READ, SKIP, SELECT,
 * WRITE) with QEMU's rules (writes only to writable items, never past their end, else
 * ERROR), the signature (key 0000h, "QEMU"), the feature bitmap (0001h: traditional +
 * DMA) and the file directory (0019h: BE32 count, then 64-byte entries BE32 size,
 * BE16 select, reserved, name[56]) sorted by name with selectors 0020h + position, as
 * QEMU assigns them. The port access widths follow QEMU's fw_cfg_comb_valid; the
 * encodings were checked against qemu-system-x86_64 7.2 (-machine pc) register dumps.
 *
 * Items are host configuration, set up before the guest starts; snapshots save only
 * the guest-visible cursor and the contents of writable files. Left out: the MMIO
 * variant (Arm), per-item read callbacks (QEMU's lazy ACPI rebuild), the legacy data
 * write channel.
 */
import type { AccessSize, Device, DeviceState, IoHandler } from '../device.js';

/** Guest-physical memory as the DMA engine sees it. Returns false when out of range. */
export interface DmaMemory {
  /** Fills `dest` from guest-physical address `gpa`. */
  read(gpa: number, dest: Uint8Array): boolean;
  /** Copies `src` to guest-physical address `gpa`. */
  write(gpa: number, src: Uint8Array): boolean;
}

/** Sink for guest-misuse messages. */
export type FwCfgLog = (message: string) => void;

/** Well-known selector keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h). */
export const FwCfgKey = {
  SIGNATURE: 0x0000,
  ID: 0x0001,
  UUID: 0x0002,
  RAM_SIZE: 0x0003,
  NOGRAPHIC: 0x0004,
  NB_CPUS: 0x0005,
  MACHINE_ID: 0x0006,
  KERNEL_ADDR: 0x0007,
  KERNEL_SIZE: 0x0008,
  KERNEL_CMDLINE: 0x0009,
  INITRD_ADDR: 0x000a,
  INITRD_SIZE: 0x000b,
  BOOT_DEVICE: 0x000c,
  NUMA: 0x000d,
  BOOT_MENU: 0x000e,
  MAX_CPUS: 0x000f,
  KERNEL_ENTRY: 0x0010,
  KERNEL_DATA: 0x0011,
  INITRD_DATA: 0x0012,
  CMDLINE_ADDR: 0x0013,
  CMDLINE_SIZE: 0x0014,
  CMDLINE_DATA: 0x0015,
  SETUP_ADDR: 0x0016,
  SETUP_SIZE: 0x0017,
  SETUP_DATA: 0x0018,
  FILE_DIR: 0x0019,
  FILE_FIRST: 0x0020,
  /** Selector bit 14: legacy write channel (ignored for lookup). */
  WRITE_CHANNEL: 0x4000,
  /** Selector bit 15: architecture-specific item. */
  ARCH_LOCAL: 0x8000,
  ACPI_TABLES: 0x8000,
  SMBIOS_ENTRIES: 0x8001,
  IRQ0_OVERRIDE: 0x8002,
  E820_TABLE: 0x8003,
  HPET: 0x8004,
} as const;

/** FW_CFG_ID bits. */
export const FW_CFG_VERSION = 0x01;
export const FW_CFG_VERSION_DMA = 0x02;

/** FWCfgDmaAccess.control bits. */
export const FW_CFG_DMA_CTL_ERROR = 0x01;
export const FW_CFG_DMA_CTL_READ = 0x02;
export const FW_CFG_DMA_CTL_SKIP = 0x04;
export const FW_CFG_DMA_CTL_SELECT = 0x08;
export const FW_CFG_DMA_CTL_WRITE = 0x10;

/** Value read from the DMA address register: "QEMU CFG" as a big-endian 64-bit number. */
export const FW_CFG_DMA_SIGNATURE = 'QEMU CFG';

/** Longest file name, excluding the terminating NUL. */
export const FW_CFG_MAX_FILE_NAME = 55;

const ENTRY_MASK = 0x3fff;
const INVALID = 0xffff;
const DIR_ENTRY_SIZE = 64;
const TWO_32 = 0x1_0000_0000;

/** Options of a file item. */
export interface FwCfgFileOptions {
  /** The guest may overwrite the contents through DMA WRITE (never resize). */
  readonly writable?: boolean;
  /** Called after a successful guest write of `length` bytes at `offset`. */
  readonly onWrite?: (offset: number, length: number, data: Uint8Array) => void;
}

interface Item {
  data: Uint8Array;
  writable: boolean;
  onWrite: ((offset: number, length: number, data: Uint8Array) => void) | undefined;
}

interface FileItem extends Item {
  readonly name: string;
}

/** Construction options. */
export interface FwCfgOptions {
  readonly id?: string;
  /** Guest memory for the DMA interface; without it the DMA feature bit is clear. */
  readonly dma?: DmaMemory;
  readonly log?: FwCfgLog;
}

/** The fw_cfg device: item store plus the selector/data and DMA register handlers. */
export class FwCfg implements Device {
  readonly id: string;
  /** Count of malformed guest accesses. */
  guestErrors = 0;
  /** Selector (+0, 16-bit write) and data (+1, 8-bit) registers: map at 510h, length 2. */
  readonly ioPort: IoHandler;
  /** DMA address register: map at 514h, length 8. */
  readonly dmaPort: IoHandler;
  private readonly dma: DmaMemory | undefined;
  private readonly log: FwCfgLog | undefined;
  /** Fixed-key items, keyed by (key & 0xbfff). */
  private readonly items = new Map<number, Item>();
  /** File items sorted by name; the selector of files[i] is FILE_FIRST + i. */
  private files: FileItem[] = [];
  private selector = INVALID;
  private offset = 0;
  private dmaHigh = 0;

  constructor(opts: FwCfgOptions = {}) {
    this.id = opts.id ?? 'fw-cfg';
    this.dma = opts.dma;
    this.log = opts.log;
    this.setBytes(FwCfgKey.SIGNATURE, new TextEncoder().encode('QEMU'));
    this.setU32(FwCfgKey.ID, FW_CFG_VERSION | (this.dma ? FW_CFG_VERSION_DMA : 0));
    this.rebuildDirectory();
    this.ioPort = {
      minSize: 1, maxSize: 2,
      read: (offset, size) => this.readIo(offset, size),
      write: (offset, size, value) => this.writeIo(offset, size, value),
    };
    this.dmaPort = {
      minSize: 1, maxSize: 4,
      read: (offset, size) => this.readDmaReg(offset, size),
      write: (offset, size, value) => this.writeDmaReg(offset, size, value),
    };
  }

  // ---- host-side item store ------------------------------------------------------

  /** Sets a fixed-key item (keys below 0020h, or arch-local 8000h..801fh). */
  setBytes(key: number, data: Uint8Array): void {
    const k = key & ~FwCfgKey.WRITE_CHANNEL & 0xffff;
    if ((k & ENTRY_MASK) >= FwCfgKey.FILE_FIRST || k === FwCfgKey.FILE_DIR) {
      throw new RangeError(`FwCfg: key 0x${key.toString(16)} is not a fixed item key (files use addFile)`);
    }
    this.items.set(k, { data: data.slice(), writable: false, onWrite: undefined });
  }

  /** Sets a little-endian 16-bit item. */
  setU16(key: number, value: number): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, value, true);
    this.setBytes(key, b);
  }

  /** Sets a little-endian 32-bit item. */
  setU32(key: number, value: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    this.setBytes(key, b);
  }

  /** Sets a little-endian 64-bit item (exact up to 2^53). */
  setU64(key: number, value: number | bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(value), true);
    this.setBytes(key, b);
  }

  /**
   * Adds a named file to the directory and returns its current selector. Selectors
   * follow the sorted name order, so adding a file can renumber others: look them up
   * with `fileKey` once all files are in.
   */
  addFile(name: string, data: Uint8Array, opts: FwCfgFileOptions = {}): number {
    if (name.length === 0 || name.length > FW_CFG_MAX_FILE_NAME || !/^[\x21-\x7e]+$/.test(name)) {
      throw new RangeError(`FwCfg: file name "${name}" must be 1..${FW_CFG_MAX_FILE_NAME} printable ASCII characters`);
    }
    if (this.files.some((f) => f.name === name)) throw new Error(`FwCfg: file "${name}" already exists`);
    if (this.files.length >= ENTRY_MASK + 1 - FwCfgKey.FILE_FIRST) throw new RangeError('FwCfg: no free file selector');
    const file: FileItem = { name, data: data.slice(), writable: opts.writable ?? false, onWrite: opts.onWrite };
    this.files.push(file);
    this.files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.rebuildDirectory();
    return this.fileKey(name)!;
  }

  /** Replaces the contents of an existing file (host side, before the guest reads it). */
  replaceFile(name: string, data: Uint8Array): void {
    const f = this.files.find((x) => x.name === name);
    if (!f) throw new Error(`FwCfg: no file "${name}"`);
    f.data = data.slice();
    this.rebuildDirectory();
  }

  /** The selector of file `name`, or undefined. */
  fileKey(name: string): number | undefined {
    const i = this.files.findIndex((f) => f.name === name);
    return i < 0 ? undefined : FwCfgKey.FILE_FIRST + i;
  }

  /** The current contents of file `name` (a copy), or undefined. */
  file(name: string): Uint8Array | undefined {
    return this.files.find((f) => f.name === name)?.data.slice();
  }

  /** Names of all files in directory order. */
  fileNames(): string[] {
    return this.files.map((f) => f.name);
  }

  // ---- guest-visible behaviour ---------------------------------------------------

  private lookup(key: number): Item | undefined {
    if (key === INVALID) return undefined;
    const k = key & ~FwCfgKey.WRITE_CHANNEL & 0xffff;
    if (!(k & FwCfgKey.ARCH_LOCAL) && k >= FwCfgKey.FILE_FIRST) return this.files[k - FwCfgKey.FILE_FIRST];
    return this.items.get(k);
  }

  private select(key: number): void {
    this.selector = key & 0xffff;
    this.offset = 0;
  }

  // QEMU's fw_cfg_comb_valid: any byte access (at either port) is a data access, a
  // word write is a selector write, a word read is invalid (QEMU 7.2 returns 0).
  private readIo(offset: number, size: AccessSize): number {
    if (size === 1) return this.readDataByte();
    this.misuse(`read of ${size} bytes at +${offset}`);
    return 0;
  }

  private writeIo(offset: number, size: AccessSize, value: number): void {
    if (size === 2) { this.select(value & 0xffff); return; }
    if (size === 1) return; // data writes ignored since QEMU 2.4
    this.misuse(`write of ${size} bytes at +${offset}`);
  }

  private readDataByte(): number {
    const item = this.lookup(this.selector);
    if (!item || this.offset >= item.data.length) return 0;
    return item.data[this.offset++]!;
  }

  private readDmaReg(offset: number, size: AccessSize): number {
    if (!this.dma) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + FW_CFG_DMA_SIGNATURE.charCodeAt(offset + i);
    return v >>> 0;
  }

  private writeDmaReg(offset: number, size: AccessSize, value: number): void {
    if (!this.dma) return;
    if (size !== 4 || (offset !== 0 && offset !== 4)) {
      this.misuse(`DMA register write of ${size} bytes at +${offset}`);
      return;
    }
    const be = bswap32(value);
    if (offset === 0) { this.dmaHigh = be; return; }
    const gpa = this.dmaHigh * TWO_32 + be;
    this.dmaHigh = 0;
    this.dmaTransfer(gpa);
  }

  /** Runs one FWCfgDmaAccess at `gpa` (QEMU's fw_cfg_dma_transfer). */
  private dmaTransfer(gpa: number): void {
    const dma = this.dma!;
    const desc = new Uint8Array(16);
    const status = new Uint8Array(4);
    if (!dma.read(gpa, desc)) {
      this.misuse(`DMA descriptor at 0x${gpa.toString(16)} outside guest memory`);
      new DataView(status.buffer).setUint32(0, FW_CFG_DMA_CTL_ERROR, false);
      dma.write(gpa, status);
      return;
    }
    const dv = new DataView(desc.buffer);
    let control = dv.getUint32(0, false);
    let length = dv.getUint32(4, false);
    let address = dv.getUint32(8, false) * TWO_32 + dv.getUint32(12, false);
    if (control & FW_CFG_DMA_CTL_SELECT) this.select(control >>> 16);
    const item = this.lookup(this.selector);
    let read = false;
    let write = false;
    if (control & FW_CFG_DMA_CTL_READ) read = true;
    else if (control & FW_CFG_DMA_CTL_WRITE) write = true;
    else if (!(control & FW_CFG_DMA_CTL_SKIP)) length = 0;
    control = 0;
    while (length > 0 && !(control & FW_CFG_DMA_CTL_ERROR)) {
      let len: number;
      if (!item || this.offset >= item.data.length) {
        len = length;
        // Past the end (or no item): reads are zero-filled, as QEMU's dma_memory_set.
        if (read && !zeroFill(dma, address, len)) control |= FW_CFG_DMA_CTL_ERROR;
        if (write) control |= FW_CFG_DMA_CTL_ERROR;
      } else {
        len = Math.min(length, item.data.length - this.offset);
        if (read && !dma.write(address, item.data.subarray(this.offset, this.offset + len))) control |= FW_CFG_DMA_CTL_ERROR;
        if (write) {
          const buf = new Uint8Array(len);
          if (!item.writable || len !== length || !dma.read(address, buf)) {
            control |= FW_CFG_DMA_CTL_ERROR;
          } else {
            item.data.set(buf, this.offset);
            item.onWrite?.(this.offset, len, item.data);
          }
        }
        this.offset += len;
      }
      address += len;
      length -= len;
    }
    if (control & FW_CFG_DMA_CTL_ERROR) this.misuse(`DMA transfer for key 0x${this.selector.toString(16)} failed`);
    new DataView(status.buffer).setUint32(0, control, false);
    dma.write(gpa, status);
  }

  private rebuildDirectory(): void {
    const dir = new Uint8Array(4 + DIR_ENTRY_SIZE * this.files.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, this.files.length, false);
    this.files.forEach((f, i) => {
      const at = 4 + i * DIR_ENTRY_SIZE;
      dv.setUint32(at, f.data.length, false);
      dv.setUint16(at + 4, FwCfgKey.FILE_FIRST + i, false);
      for (let c = 0; c < f.name.length; c++) dir[at + 8 + c] = f.name.charCodeAt(c);
    });
    this.items.set(FwCfgKey.FILE_DIR, { data: dir, writable: false, onWrite: undefined });
  }

  private misuse(message: string): void {
    this.guestErrors++;
    this.log?.(`${this.id}: ${message}`);
  }

  // ---- Device -------------------------------------------------------------------------

  /** Deselects (QEMU: FW_CFG_INVALID) and clears the DMA address latch. Items stay. */
  reset(): void {
    this.selector = INVALID;
    this.offset = 0;
    this.dmaHigh = 0;
  }

  /** `{ v: 1, selector, offset, dmaHigh, files: { name: hex } }` (writable files only). */
  saveState(): DeviceState {
    const files: Record<string, string> = {};
    for (const f of this.files) if (f.writable) files[f.name] = toHex(f.data);
    return { v: 1, selector: this.selector, offset: this.offset, dmaHigh: this.dmaHigh, files };
  }

  /** Validates, then applies, a state from `saveState`. */
  loadState(state: unknown): void {
    if (typeof state !== 'object' || state === null) throw new TypeError(`${this.id}: state must be an object`);
    const s = state as Record<string, unknown>;
    if (s['v'] !== 1) throw new TypeError(`${this.id}: unsupported state version ${String(s['v'])}`);
    const int = (name: string, max: number): number => {
      const v = s[name];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new TypeError(`${this.id}: ${name} must be an integer in 0..${max}`);
      return v;
    };
    const selector = int('selector', 0xffff);
    const offset = int('offset', 0xffffffff);
    const dmaHigh = int('dmaHigh', 0xffffffff);
    const filesIn = s['files'];
    if (typeof filesIn !== 'object' || filesIn === null || Array.isArray(filesIn)) throw new TypeError(`${this.id}: files must be an object`);
    const updates: Array<[FileItem, Uint8Array]> = [];
    for (const [name, hex] of Object.entries(filesIn as Record<string, unknown>)) {
      const f = this.files.find((x) => x.name === name);
      if (!f || !f.writable) throw new Error(`${this.id}: state names writable file "${name}", which this machine does not have`);
      if (typeof hex !== 'string' || hex.length !== f.data.length * 2 || !/^[0-9a-f]*$/.test(hex)) {
        throw new TypeError(`${this.id}: file "${name}" must be ${f.data.length} bytes of hex`);
      }
      updates.push([f, fromHex(hex)]);
    }
    this.selector = selector;
    this.offset = offset;
    this.dmaHigh = dmaHigh;
    for (const [f, bytes] of updates) f.data = bytes;
  }
}

/** Writes `len` zero bytes at `gpa` in bounded chunks. */
function zeroFill(dma: DmaMemory, gpa: number, len: number): boolean {
  const CHUNK = 0x10000;
  const zeros = new Uint8Array(Math.min(len, CHUNK));
  for (let done = 0; done < len; done += CHUNK) {
    const n = Math.min(CHUNK, len - done);
    if (!dma.write(gpa + done, n === zeros.length ? zeros : zeros.subarray(0, n))) return false;
  }
  return true;
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}
