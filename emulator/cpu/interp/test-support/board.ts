/**
 * A minimal test board for the interpreter: GuestMemory + PhysMap with RAM at the bottom,
 * a firmware image mapped at the top of 4 GiB and (its last 64/128 KiB) below 1 MiB, and a
 * VmOps fake with QEMU's debug devices: debugcon on ports 0xe9 and 0x402 and
 * isa-debug-exit on 0xf4 (exit code = (value << 1) | 1). Unmapped ports read all-ones.
 *
 * Not a PC: no PIC, PIT, CMOS, PCI or fw_cfg. Tests inject interrupts through `irq`.
 */
import { CpuExit, type InterruptSource, type VmOps } from '../../backend.js';
import type { AccessSize } from '../../../devices/device.js';
import { GuestMemory } from '../../../memory/guest-memory.js';
import { PhysMap } from '../../../memory/phys-map.js';
import { InterpCpu } from '../cpu.js';
import type { CpuFeatures } from '../features.js';

/** Options of `TestBoard`. */
export interface TestBoardOptions {
  /** RAM size in bytes (default 16 MiB). */
  ramBytes?: number;
  /** Firmware image (multiple of 64 KiB). */
  image?: Uint8Array;
  /** Bytes of the image's end mirrored below 1 MiB (default: min(image, 128 KiB)). */
  lowWindowBytes?: number;
  /** Make the low window writable RAM preloaded with the image (like PAM set to RW). */
  lowWindowWritable?: boolean;
  features?: Partial<CpuFeatures>;
  /** Slow-path (MMIO / unmapped / ROM write) observers; default reads all-ones, drops writes. */
  mmioRead?: (gpa: number, size: AccessSize) => number;
  mmioWrite?: (gpa: number, size: AccessSize, value: number) => void;
  /** Extra port handlers (port -> read / write). */
  ports?: Map<number, { read?: (size: AccessSize) => number; write?: (size: AccessSize, v: number) => void }>;
}

/** A scripted interrupt controller: push vectors, the CPU takes them when IF=1. */
export class FakeInterrupts implements InterruptSource {
  readonly queue: number[] = [];
  hasInterrupt(): boolean { return this.queue.length > 0; }
  acknowledge(): number { return this.queue.shift() ?? 0xff; }
}

/** Result of running a board. */
export interface BoardResult {
  /** Text written to port 0xe9. */
  debugcon: string;
  /** Text written to port 0x402. */
  debug402: string;
  /** isa-debug-exit status ((value << 1) | 1), or undefined. */
  exitStatus: number | undefined;
  /** Last CPU exit. */
  exit: CpuExit;
  instructions: number;
}

/** The board. */
export class TestBoard {
  readonly mem: GuestMemory;
  readonly physMap = new PhysMap();
  readonly irq = new FakeInterrupts();
  readonly cpu: InterpCpu;
  debugcon = '';
  debug402 = '';
  exitStatus: number | undefined;
  readonly warnings: string[] = [];

  constructor(opts: TestBoardOptions = {}) {
    const ram = opts.ramBytes ?? 16 * 1024 * 1024;
    const image = opts.image;
    const imgBytes = image ? Math.ceil(image.length / 4096) * 4096 : 0;
    const low = image ? Math.min(opts.lowWindowBytes ?? Math.min(imgBytes, 128 * 1024), imgBytes) : 0;
    this.mem = new GuestMemory(ram, imgBytes + low + 4096);
    // RAM: 0..640K and 1M..ram (the legacy hole reads all-ones except the firmware window).
    this.physMap.map(0, 0xa0, 0, true);
    if (ram > 0x100000) this.physMap.map(0x100, (ram - 0x100000) >>> 12, 0x100, true);
    if (image) {
      const rom = this.mem.allocate('bios', imgBytes);
      this.mem.u8.set(image, rom.offset);
      this.physMap.map((0x100000000 - imgBytes) / 4096, imgBytes / 4096, rom.offset / 4096, false);
      const lowPage = (0x100000 - low) / 4096;
      if (opts.lowWindowWritable) {
        const shadow = this.mem.allocate('bios-shadow', low);
        this.mem.u8.set(image.subarray(image.length - low), shadow.offset);
        this.physMap.map(lowPage, low / 4096, shadow.offset / 4096, true);
      } else {
        this.physMap.map(lowPage, low / 4096, (rom.offset + imgBytes - low) / 4096, false);
      }
    }
    const ports = opts.ports ?? new Map();
    const ops: VmOps = {
      pioRead: (port, size) => {
        const h = ports.get(port);
        if (h?.read) return h.read(size);
        return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
      },
      pioWrite: (port, size, value) => {
        const h = ports.get(port);
        if (h?.write) { h.write(size, value); return; }
        if (port === 0xe9) this.debugcon += String.fromCharCode(value & 0xff);
        else if (port === 0x402) this.debug402 += String.fromCharCode(value & 0xff);
        else if (port === 0xf4) { this.exitStatus = ((value & 0xff) << 1) | 1; this.cpu.kick(); }
      },
      mmioRead: (gpa, size) => (opts.mmioRead ? opts.mmioRead(gpa, size) : size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff),
      mmioWrite: (gpa, size, value) => { opts.mmioWrite?.(gpa, size, value); /* else dropped */ },
    };
    this.cpu = new InterpCpu({
      mem: this.mem, physMap: this.physMap, ops, interrupts: this.irq,
      log: { warn: (m) => { if (this.warnings.length < 100) this.warnings.push(m); } },
      features: opts.features,
    });
  }

  /** Runs until isa-debug-exit, a Reset/Error/Shutdown exit, a halt with nothing pending, or `maxInstructions`. */
  run(maxInstructions = 50_000_000): BoardResult {
    let exit: CpuExit = CpuExit.Yield;
    const start = this.cpu.instructionsRetired;
    while (this.exitStatus === undefined && this.cpu.instructionsRetired - start < maxInstructions) {
      exit = this.cpu.run(Math.min(1_000_000, maxInstructions - (this.cpu.instructionsRetired - start)));
      if (exit === CpuExit.Halt && this.irq.queue.length === 0) break;
      if (exit === CpuExit.Reset || exit === CpuExit.Error || exit === CpuExit.Shutdown) break;
    }
    return {
      debugcon: this.debugcon, debug402: this.debug402, exitStatus: this.exitStatus, exit,
      instructions: this.cpu.instructionsRetired - start,
    };
  }
}
