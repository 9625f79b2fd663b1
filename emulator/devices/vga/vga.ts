/**
 * QEMU-compatible standard VGA ("stdvga", PCI 1234:1111): an IBM VGA register set with
 * four-plane memory, the Bochs VBE DISPI extension and a linear framebuffer.
 *
 * Specs followed: IBM VGA Technical Reference (registers, memory organisation, read and
 * write modes), Bochs `vbe_display_api.txt` (DISPI), QEMU `docs/specs/standard-vga.rst`
 * (PCI identity, BAR0 = VRAM, BAR2 = MMIO registers: VGA ports at 0x400, DISPI at 0x500,
 * QEMU extended registers at 0x600). See vga-registers.ts, vga-memory.ts and
 * bochs-vbe.ts for the parts and what each leaves out.
 *
 * What the board wires (devices see offsets only):
 * - `ioPorts`     at ports VGA_IO_BASE (0x3B0) .. +VGA_IO_LENGTH (0x30)
 * - `dispiPorts`  at ports DISPI_IO_BASE (0x1CE) .. +DISPI_IO_LENGTH (3)
 * - `legacyWindow` as MMIO at VGA_LEGACY_GPA (0xA0000) .. +VGA_LEGACY_LENGTH (0x20000)
 * - `vram` (a GuestMemory block) mapped as RAM at the PCI BAR0 address
 * - `mmioBar` as MMIO at the PCI BAR2 address (STDVGA_MMIO_BAR_BYTES)
 *
 * Dirty tracking: the board maps BAR0 straight onto the VRAM block, so LFB writes never
 * reach this device. The renderer (emulator/display/vga-renderer.ts) therefore finds
 * changes itself by comparing the displayed VRAM with a shadow copy tile by tile. Writes
 * that do pass through here (the legacy window, or a slow-path LFB the board may route
 * through `noteVramWrite`) also bump `pageGeneration[page]` and `memGeneration`, which
 * consumers can use as a cheap hint.
 *
 * Snapshot: `saveState()` holds every register (JSON); VRAM contents are not in it and
 * belong in the snapshot container's binary section for the "vga.vram" block.
 */
import type { AccessSize, Device, DeviceState, IoHandler, ResetKind } from '../device.js';
import type { GuestMemory, MemoryBlock } from '../../memory/guest-memory.js';
import type { Clock } from '../../time/clock.js';
import { BochsVbe } from './bochs-vbe.js';
import {
  AR_COUNT, DISPI_REG_COUNT, MMIO_OFS_DISPI, MMIO_OFS_QEXT, MMIO_OFS_VGA_PORTS, VGA_DEFAULT_VRAM_BYTES,
  VGA_PLANAR_BYTES,
} from './vga-constants.js';
import { legacyRead, legacyWrite, type VramAccess } from './vga-memory.js';
import { VgaRegisters } from './vga-registers.js';

/** Version of the saved state layout. */
const STATE_VERSION = 1;
/** QEMU extended register: size of the extended register region. */
const QEXT_SIZE = 8;
/** QEMU extended register: little-endian framebuffer marker. */
const QEXT_LITTLE_ENDIAN = 0x1e1e1e1e;

/** Construction parameters of StdVga. */
export interface StdVgaOptions {
  /** Snapshot id; default "vga". */
  readonly id?: string;
  /** Backing store in which VRAM is allocated. */
  readonly memory: GuestMemory;
  /** Virtual time, for the retrace bits and blinking. */
  readonly clock: Clock;
  /** VRAM size (BAR0 size): a power of two from 1 MiB to 256 MiB; default 16 MiB. */
  readonly vramBytes?: number;
  /** Name of the GuestMemory block; default "vga.vram". */
  readonly blockName?: string;
}

/** The standard VGA device. */
export class StdVga implements Device {
  /** Snapshot id. */
  readonly id: string;
  /** The VRAM block, for mapping the linear framebuffer (BAR0) as RAM. */
  readonly vram: MemoryBlock;
  /** VRAM size in bytes. */
  readonly vramBytes: number;
  /** Byte view of VRAM (a window of GuestMemory.u8). */
  readonly vramU8: Uint8Array;
  /** 32-bit view of VRAM: one word per plane address. */
  readonly vramU32: Uint32Array;
  /** The VGA register file. */
  readonly regs: VgaRegisters;
  /** The Bochs VBE register file. */
  readonly vbe: BochsVbe;
  /** Injected clock (the renderer uses it for blinking). */
  readonly clock: Clock;
  /** Per 4 KiB VRAM page: bumped by every write this device sees or is told of. */
  readonly pageGeneration: Uint32Array;
  /** Bumped by every VRAM write this device sees or is told of. */
  memGeneration = 0;

  /** Ports 0x3B0-0x3DF (offset = port - 0x3B0). */
  readonly ioPorts: IoHandler;
  /** Ports 0x1CE (index) and 0x1CF (data; 0x1D0 is its high byte). */
  readonly dispiPorts: IoHandler;
  /** MMIO window 0xA0000-0xBFFFF (offset = gpa - 0xA0000). */
  readonly legacyWindow: IoHandler;
  /** MMIO BAR2 of the PCI function (offset inside the BAR). */
  readonly mmioBar: IoHandler;

  private readonly access: VramAccess;

  constructor(options: StdVgaOptions) {
    const bytes = options.vramBytes ?? VGA_DEFAULT_VRAM_BYTES;
    if (!Number.isInteger(bytes) || bytes < (1 << 20) || bytes > (256 << 20) || (bytes & (bytes - 1)) !== 0) {
      throw new RangeError(`StdVga: vramBytes must be a power of two from 1 MiB to 256 MiB (got ${bytes})`);
    }
    this.id = options.id ?? 'vga';
    this.clock = options.clock;
    this.vramBytes = bytes;
    this.vram = options.memory.allocate(options.blockName ?? 'vga.vram', bytes);
    this.vramU8 = options.memory.u8.subarray(this.vram.offset, this.vram.offset + bytes);
    this.vramU32 = new Uint32Array(options.memory.buffer, options.memory.u8.byteOffset + this.vram.offset, bytes >>> 2);
    this.pageGeneration = new Uint32Array(bytes >>> 12);
    this.access = { u8: this.vramU8, u32: this.vramU32, bytes };
    this.regs = new VgaRegisters(options.clock);
    this.vbe = new BochsVbe(this.regs, this.vramU8);
    this.ioPorts = this.makeIoPorts();
    this.dispiPorts = this.makeDispiPorts();
    this.legacyWindow = this.makeLegacyWindow();
    this.mmioBar = this.makeMmioBar();
    this.reset('power-on');
  }

  /** @inheritdoc */
  reset(kind: ResetKind): void {
    this.regs.reset();
    this.vbe.reset();
    if (kind === 'power-on') {
      this.vramU8.fill(0);
      this.noteVramWrite(0, this.vramBytes);
    }
  }

  /**
   * Records that VRAM bytes [offset, offset+length) changed behind the device's back
   * (host-side writes, or LFB writes the board routes through a slow path).
   */
  noteVramWrite(offset: number, length: number): void {
    if (length <= 0 || offset >= this.vramBytes || offset + length <= 0) return;
    const first = Math.max(0, offset) >>> 12;
    const last = (Math.min(this.vramBytes, offset + length) - 1) >>> 12;
    for (let p = first; p <= last; p++) this.pageGeneration[p]!++;
    this.memGeneration++;
  }

  /** Plane size mask for the legacy window: 64 KiB planes unless VBE extends them. */
  private planeWrap(): number {
    return this.vbe.enabled ? (this.vramBytes >>> 2) - 1 : (VGA_PLANAR_BYTES >>> 2) - 1;
  }

  private readLegacyByte(offset: number): number {
    return legacyRead(this.regs, this.access, offset, this.vbe.enabled ? this.vbe.bankOffset : 0, this.planeWrap());
  }

  private writeLegacyByte(offset: number, value: number): void {
    const at = legacyWrite(this.regs, this.access, offset, value, this.vbe.enabled ? this.vbe.bankOffset : 0, this.planeWrap());
    if (at >= 0) {
      this.pageGeneration[at >>> 12]!++;
      this.memGeneration++;
    }
  }

  private makeIoPorts(): IoHandler {
    const regs = this.regs;
    return {
      minSize: 1,
      maxSize: 2,
      read: (offset: number, size: AccessSize): number => {
        const lo = regs.readPort(offset);
        return size === 1 ? lo : lo | (regs.readPort(offset + 1) << 8);
      },
      write: (offset: number, size: AccessSize, value: number): void => {
        regs.writePort(offset, value & 0xff);
        if (size !== 1) regs.writePort(offset + 1, (value >>> 8) & 0xff);
      },
    };
  }

  private makeDispiPorts(): IoHandler {
    const vbe = this.vbe;
    return {
      minSize: 1,
      maxSize: 2,
      read: (offset: number, size: AccessSize): number => {
        const mask = size === 1 ? 0xff : 0xffff;
        if (offset === 0) return vbe.index & mask;
        if (offset === 1) return vbe.readData() & mask;
        return mask; // 0x1D0 alone answers nothing
      },
      write: (offset: number, _size: AccessSize, value: number): void => {
        if (offset === 0) vbe.index = value & 0xffff;
        else if (offset === 1) vbe.writeData(value);
      },
    };
  }

  private makeLegacyWindow(): IoHandler {
    return {
      minSize: 1,
      maxSize: 4,
      read: (offset: number, size: AccessSize): number => {
        let v = 0;
        for (let i = 0; i < size; i++) v |= this.readLegacyByte(offset + i) << (8 * i);
        return v >>> 0;
      },
      write: (offset: number, size: AccessSize, value: number): void => {
        for (let i = 0; i < size; i++) this.writeLegacyByte(offset + i, (value >>> (8 * i)) & 0xff);
      },
    };
  }

  private makeMmioBar(): IoHandler {
    const regs = this.regs;
    const vbe = this.vbe;
    const readByte = (offset: number): number => {
      if (offset >= MMIO_OFS_VGA_PORTS && offset < MMIO_OFS_VGA_PORTS + 0x20) {
        return regs.readPort(offset - MMIO_OFS_VGA_PORTS + 0x10);
      }
      return 0xff;
    };
    const writeByte = (offset: number, value: number): void => {
      if (offset >= MMIO_OFS_VGA_PORTS && offset < MMIO_OFS_VGA_PORTS + 0x20) {
        regs.writePort(offset - MMIO_OFS_VGA_PORTS + 0x10, value);
      }
    };
    const isDispi = (offset: number): boolean => offset >= MMIO_OFS_DISPI && offset < MMIO_OFS_DISPI + DISPI_REG_COUNT * 2;
    return {
      minSize: 1,
      maxSize: 4,
      read: (offset: number, size: AccessSize): number => {
        if (isDispi(offset)) {
          vbe.index = (offset - MMIO_OFS_DISPI) >>> 1;
          const v = vbe.readData() >>> (((offset & 1) * 8));
          return size === 1 ? v & 0xff : v & 0xffff;
        }
        if (offset === MMIO_OFS_QEXT) return QEXT_SIZE;
        if (offset === MMIO_OFS_QEXT + 4) return QEXT_LITTLE_ENDIAN;
        let v = 0;
        for (let i = 0; i < size; i++) v |= readByte(offset + i) << (8 * i);
        return v >>> 0;
      },
      write: (offset: number, size: AccessSize, value: number): void => {
        if (isDispi(offset)) {
          if ((offset & 1) !== 0) return; // byte writes to the high half are dropped
          vbe.index = (offset - MMIO_OFS_DISPI) >>> 1;
          vbe.writeData(size === 1 ? value & 0xff : value & 0xffff);
          return;
        }
        if (offset >= MMIO_OFS_QEXT) return; // byte order stays little-endian
        for (let i = 0; i < size; i++) writeByte(offset + i, (value >>> (8 * i)) & 0xff);
      },
    };
  }

  /** @inheritdoc Registers only; VRAM goes in a binary snapshot section. */
  saveState(): DeviceState {
    const r = this.regs;
    const b = this.vbe;
    return {
      v: STATE_VERSION,
      vramBytes: this.vramBytes,
      misc: r.misc,
      featureControl: r.featureControl,
      videoEnable: r.videoEnable,
      seq: { index: r.seqIndex, regs: Array.from(r.seq) },
      gc: { index: r.gcIndex, regs: Array.from(r.gr) },
      crtc: { index: r.crtcIndex, regs: Array.from(r.crtc) },
      attr: { index: r.attrIndex, flipFlop: r.attrFlipFlop, regs: Array.from(r.attr) },
      dac: {
        mask: r.dacMask, readIndex: r.dacReadIndex, writeIndex: r.dacWriteIndex, sub: r.dacSub,
        state: r.dacState, cache: Array.from(r.dacCache), palette: Array.from(r.dac), eightBit: r.dac8bit,
      },
      latch: r.latch,
      status: { lastNs: r.statusLastNs, sameReads: r.statusSameReads, toggle: r.statusToggle },
      dispi: {
        index: b.index, regs: Array.from(b.regs), bankOffset: b.bankOffset,
        lineOffset: b.lineOffset, startByte: b.startByte,
      },
    };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = obj(state, 'state');
    if (s.v !== STATE_VERSION) throw new Error(`StdVga.loadState: unsupported version ${String(s.v)} (expected ${STATE_VERSION})`);
    if (s.vramBytes !== this.vramBytes) {
      throw new Error(`StdVga.loadState: state is for ${String(s.vramBytes)} bytes of VRAM, this device has ${this.vramBytes}`);
    }
    const misc = int(s.misc, 'misc', 0xff);
    const featureControl = int(s.featureControl, 'featureControl', 0xff);
    const videoEnable = int(s.videoEnable, 'videoEnable', 0xff);
    const seq = obj(s.seq, 'seq');
    const seqIndex = int(seq.index, 'seq.index', 7);
    const seqRegs = bytes(seq.regs, 'seq.regs', 8);
    const gc = obj(s.gc, 'gc');
    const gcIndex = int(gc.index, 'gc.index', 0x0f);
    const gcRegs = bytes(gc.regs, 'gc.regs', 16);
    const crtc = obj(s.crtc, 'crtc');
    const crtcIndex = int(crtc.index, 'crtc.index', 0xff);
    const crtcRegs = bytes(crtc.regs, 'crtc.regs', 256);
    const attr = obj(s.attr, 'attr');
    const attrIndex = int(attr.index, 'attr.index', 0x3f);
    const flipFlop = bool(attr.flipFlop, 'attr.flipFlop');
    const attrRegs = bytes(attr.regs, 'attr.regs', AR_COUNT);
    const dac = obj(s.dac, 'dac');
    const dacMask = int(dac.mask, 'dac.mask', 0xff);
    const dacRead = int(dac.readIndex, 'dac.readIndex', 0xff);
    const dacWrite = int(dac.writeIndex, 'dac.writeIndex', 0xff);
    const dacSub = int(dac.sub, 'dac.sub', 2);
    const dacState = int(dac.state, 'dac.state', 3);
    const dacCache = bytes(dac.cache, 'dac.cache', 3);
    const palette = bytes(dac.palette, 'dac.palette', 768);
    const eightBit = bool(dac.eightBit, 'dac.eightBit');
    const latch = int(s.latch, 'latch', 0xffffffff);
    const status = obj(s.status, 'status');
    const lastNs = num(status.lastNs, 'status.lastNs');
    const sameReads = int(status.sameReads, 'status.sameReads', 1 << 20);
    const toggle = bool(status.toggle, 'status.toggle');
    const dispi = obj(s.dispi, 'dispi');
    const dIndex = int(dispi.index, 'dispi.index', 0xffff);
    const dRegs = words(dispi.regs, 'dispi.regs', DISPI_REG_COUNT);
    const bankOffset = int(dispi.bankOffset, 'dispi.bankOffset', this.vramBytes - 1);
    const lineOffset = int(dispi.lineOffset, 'dispi.lineOffset', this.vramBytes);
    const startByte = int(dispi.startByte, 'dispi.startByte', this.vramBytes);
    if (bankOffset % 0x10000 !== 0) throw new Error('StdVga.loadState: dispi.bankOffset must be a multiple of 64 KiB');

    // Everything validated: apply.
    const r = this.regs;
    r.misc = misc; r.featureControl = featureControl; r.videoEnable = videoEnable;
    r.seqIndex = seqIndex; r.seq.set(seqRegs);
    r.gcIndex = gcIndex; r.gr.set(gcRegs);
    r.crtcIndex = crtcIndex; r.crtc.set(crtcRegs);
    r.attrIndex = attrIndex; r.attrFlipFlop = flipFlop; r.attr.set(attrRegs);
    r.dacMask = dacMask; r.dacReadIndex = dacRead; r.dacWriteIndex = dacWrite; r.dacSub = dacSub;
    r.dacState = dacState; r.dacCache.set(dacCache); r.dac.set(palette); r.dac8bit = eightBit;
    r.latch = latch;
    r.statusLastNs = lastNs; r.statusSameReads = sameReads; r.statusToggle = toggle;
    r.generation++;
    const b = this.vbe;
    b.index = dIndex; b.regs.set(dRegs); b.bankOffset = bankOffset; b.lineOffset = lineOffset; b.startByte = startByte;
    this.noteVramWrite(0, this.vramBytes);
  }
}

function obj(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`StdVga.loadState: ${name} must be an object`);
  return v as Record<string, unknown>;
}

function num(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`StdVga.loadState: ${name} must be a finite number`);
  return v;
}

function int(v: unknown, name: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new Error(`StdVga.loadState: ${name} must be an integer in 0..${max}`);
  }
  return v;
}

function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`StdVga.loadState: ${name} must be a boolean`);
  return v;
}

function intArray(v: unknown, name: string, length: number, max: number): number[] {
  if (!Array.isArray(v) || v.length !== length) throw new Error(`StdVga.loadState: ${name} must be an array of ${length} numbers`);
  return v.map((x, i) => int(x, `${name}[${i}]`, max));
}

function bytes(v: unknown, name: string, length: number): number[] {
  return intArray(v, name, length, 0xff);
}

function words(v: unknown, name: string, length: number): number[] {
  return intArray(v, name, length, 0xffff);
}
