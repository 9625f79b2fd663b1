import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../time/clock.js';
import { PcBoard, type PcBoardOptions } from './pc.js';

/** A recognisable fake BIOS: 128 KiB, byte i = i & 0xff, with a marker at the end. */
function fakeBios(marker: number): Uint8Array {
  const b = new Uint8Array(128 * 1024);
  for (let i = 0; i < b.length; i++) b[i] = i & 0xff;
  b[b.length - 16] = marker;
  return b;
}

function makeBoard(over: Partial<PcBoardOptions> = {}): { board: PcBoard; events: string[]; clock: VirtualClock; debug: number[] } {
  const events: string[] = [];
  const debug: number[] = [];
  const clock = new VirtualClock();
  const board = new PcBoard({
    memoryBytes: 32 * 1024 * 1024,
    bios: fakeBios(0xea),
    vgaBios: null,
    clock,
    rtcStart: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
    debugconOut: (b) => debug.push(...b),
    onDebugExit: (code) => events.push(`exit:${code}`),
    onPowerOff: () => events.push('poweroff'),
    onResetRequest: () => events.push('reset'),
    setA20: (on) => events.push(`a20:${on}`),
    onIntr: (level) => events.push(`intr:${level}`),
    ...over,
  });
  return { board, events, clock, debug };
}

const inb = (b: PcBoard, port: number): number => b.vmOps.pioRead(port, 1);
const outb = (b: PcBoard, port: number, v: number): void => b.vmOps.pioWrite(port, 1, v);
const outl = (b: PcBoard, port: number, v: number): void => b.vmOps.pioWrite(port, 4, v);
const inl = (b: PcBoard, port: number): number => b.vmOps.pioRead(port, 4);

function pciRead32(b: PcBoard, dev: number, fn: number, reg: number): number {
  outl(b, 0xcf8, (0x80000000 | (dev << 11) | (fn << 8) | reg) >>> 0);
  return inl(b, 0xcfc);
}

/** Reads guest-physical memory the way the CPU does: fast path through PhysMap, else MMIO. */
function readPhys8(b: PcBoard, gpa: number): number {
  const page = b.physMap.readPage[gpa >>> 12]!;
  return page >= 0 ? b.mem.u8[page * 4096 + (gpa & 0xfff)]! : b.vmOps.mmioRead(gpa, 1);
}

describe('pc board (no CPU)', () => {
  it('puts the virtio tablet at 09.0 (1af4:1052); console pointer events use PS/2 until its driver runs', () => {
    const moves: number[][] = [];
    const { board } = makeBoard({ virtio: { tablet: true } });
    expect(pciRead32(board, 9, 0, 0)).toBe(0x10521af4);
    expect(board.virtioTablet?.driverActive).toBe(false);
    const input = board.consoleInput();
    expect(input.pointerAbsolute?.(10, 10, 640, 480, 0, 0)).toBe(false);
    board.kbc.mouseMove = (dx, dy, b, w) => { moves.push([dx, dy, b, w]); };
    board.consoleInput().mouseMove(3, 4, 0, 0);
    expect(moves).toEqual([[3, 4, 0, 0]]);
  });

  it('tells the decode caches about device DMA into guest RAM (fw_cfg DMA over a page holding code)', () => {
    const { board } = makeBoard();
    const watch = board.mem.codeWatch;
    const codePage = 0x5000 >>> 12;
    watch.codePage[codePage] = 1; // a CPU decoded instructions from this page
    const gen = watch.pageGen[codePage]!;
    // FWCfgDmaAccess at 0x4000 (big-endian): control = key 0 (signature) << 16 | SELECT | READ,
    // length 4, address 0x5000; the 64-bit address of the structure goes to ports 0x514/0x518.
    const dv = new DataView(board.mem.u8.buffer, board.mem.u8.byteOffset);
    dv.setUint32(0x4000, (0 << 16) | 0x08 | 0x02);
    dv.setUint32(0x4004, 4);
    dv.setUint32(0x4008, 0);
    dv.setUint32(0x400c, 0x5000);
    const be32 = (v: number): number => ((v & 0xff) << 24 | (v & 0xff00) << 8 | (v >>> 8) & 0xff00 | v >>> 24) >>> 0;
    outl(board, 0x514, be32(0));
    outl(board, 0x518, be32(0x4000));
    expect(String.fromCharCode(...board.mem.u8.subarray(0x5000, 0x5004))).toBe('QEMU');
    expect(watch.pageGen[codePage]).toBe(gen + 1);
    expect(watch.codePage[codePage]).toBe(0);
  });

  it('maps the BIOS at the top of 4 GiB and its last 128 KiB below 1 MiB', () => {
    const { board } = makeBoard();
    expect(readPhys8(board, 0xfffffff0)).toBe(0xea);
    expect(readPhys8(board, 0xffff0)).toBe(0xea);
    expect(readPhys8(board, 0xe0001)).toBe(0x01);
  });

  it('switches 0xF0000 to shadow RAM through PAM0 and keeps ROM write-protected before', () => {
    const { board } = makeBoard();
    board.vmOps.mmioWrite(0xffff0, 1, 0x55); // a write to ROM is dropped
    expect(readPhys8(board, 0xffff0)).toBe(0xea);
    board.mem.u8[0xffff0] = 0x77; // shadow RAM underneath holds something else
    outl(board, 0xcf8, 0x80000058); // i440FX 00.0 register 0x58..0x5b; PAM0 is at 0x59
    board.vmOps.pioWrite(0xcfd, 1, 0x30); // PAM0 high nibble: read + write RAM
    expect(readPhys8(board, 0xffff0)).toBe(0x77);
    expect(board.physMap.writePage[0xff]).toBeGreaterThanOrEqual(0);
    board.vmOps.pioWrite(0xcfd, 1, 0x10); // read-only RAM
    expect(board.physMap.writePage[0xff]).toBe(-1);
    expect(readPhys8(board, 0xffff0)).toBe(0x77);
  });

  it('answers PCI configuration reads with the i440FX, PIIX3, PIIX4 PM and VGA identities', () => {
    const { board } = makeBoard();
    expect(pciRead32(board, 0, 0, 0)).toBe(0x12378086);
    expect(pciRead32(board, 1, 0, 0)).toBe(0x70008086);
    expect(pciRead32(board, 1, 3, 0)).toBe(0x71138086);
    expect(pciRead32(board, 2, 0, 0)).toBe(0x11111234);
    expect(pciRead32(board, 3, 0, 0)).toBe(0xffffffff);
  });

  it('serves fw_cfg: signature, RAM size and the e820 file', () => {
    const { board } = makeBoard();
    board.vmOps.pioWrite(0x510, 2, 0x0000);
    const sig = [0, 1, 2, 3].map(() => String.fromCharCode(inb(board, 0x511))).join('');
    expect(sig).toBe('QEMU');
    board.vmOps.pioWrite(0x510, 2, 0x0003);
    const ram = [0, 1, 2, 3].map(() => inb(board, 0x511));
    expect(ram[0]! | (ram[1]! << 8) | (ram[2]! << 16) | (ram[3]! << 24)).toBe(32 * 1024 * 1024);
    expect(board.fwCfg.fileNames()).toContain('etc/e820');
  });

  it('delivers a PIT channel 0 tick as IRQ0 through the PIC', () => {
    const { board, events, clock } = makeBoard();
    // ICW1-4 for the master: vector base 0x08, cascade on IRQ2, 8086 mode; unmask IRQ0 only.
    outb(board, 0x20, 0x11); outb(board, 0x21, 0x08); outb(board, 0x21, 0x04); outb(board, 0x21, 0x01);
    outb(board, 0x21, 0xfe);
    outb(board, 0x43, 0x34); outb(board, 0x40, 0x00); outb(board, 0x40, 0x10); // mode 2, count 0x1000
    clock.step(5_000_000);
    expect(events).toContain('intr:true');
    expect(board.pic.hasInterrupt()).toBe(true);
    expect(board.pic.acknowledge()).toBe(0x08);
  });

  it('routes debug ports, isa-debug-exit and the reset/A20 port', () => {
    const { board, events, debug } = makeBoard();
    outb(board, 0xe9, 0x41);
    outb(board, 0x402, 0x42);
    expect(debug).toEqual([0x41, 0x42]);
    outb(board, 0xf4, 0x10);
    expect(events).toContain('exit:33');
    outb(board, 0x92, 0x02);
    expect(events).toContain('a20:true');
    outb(board, 0x92, 0x03);
    expect(events).toContain('reset');
    expect(inb(board, 0x1234)).toBe(0xff);
  });

  it('keeps two machines in one process independent', () => {
    const a = makeBoard();
    const b = makeBoard({ bios: fakeBios(0x5a) });
    a.board.mem.u8[0x1000] = 1;
    expect(b.board.mem.u8[0x1000]).toBe(0);
    expect(readPhys8(b.board, 0xfffffff0)).toBe(0x5a);
    outb(a.board, 0xe9, 0x61);
    expect(a.debug).toEqual([0x61]);
    expect(b.debug).toEqual([]);
    outb(a.board, 0x43, 0x34); outb(a.board, 0x40, 0x00); outb(a.board, 0x40, 0x10);
    expect(b.board.pit.channelInfo(0).mode).not.toBe(2);
  });
});

describe('pc board keyboard controller', () => {
  it('answers the i8042 self-test and raises IRQ1 for a key press', () => {
    const { board } = makeBoard();
    outb(board, 0x64, 0xaa);
    expect(inb(board, 0x60)).toBe(0x55);
    // Unmask IRQ1 on the master PIC after initialising it.
    outb(board, 0x20, 0x11); outb(board, 0x21, 0x08); outb(board, 0x21, 0x04); outb(board, 0x21, 0x01);
    outb(board, 0x21, 0xfd);
    outb(board, 0x64, 0x60); outb(board, 0x60, 0x45); // command byte: translate, IRQ1 enabled
    board.kbc.keyDown(0x1e); // 'A' in set 1
    expect(board.pic.hasInterrupt()).toBe(true);
    expect(board.pic.acknowledge()).toBe(0x09);
    expect(inb(board, 0x60)).toBe(0x1e);
  });
});

describe('pc board platform devices', () => {
  it('hands ACPI tables to the firmware through fw_cfg and maps the IOAPIC and HPET', () => {
    const { board } = makeBoard();
    expect(board.fwCfg.fileNames()).toEqual(expect.arrayContaining(['etc/acpi/tables', 'etc/acpi/rsdp', 'etc/table-loader']));
    // IOAPIC version register through IOREGSEL/IOWIN.
    board.vmOps.mmioWrite(0xfec00000, 4, 0x01);
    expect(board.vmOps.mmioRead(0xfec00010, 4) & 0xff).toBe(0x20);
    // HPET capabilities: vendor 0x8086 in the top half.
    expect(board.vmOps.mmioRead(0xfed00000, 4) >>> 16).toBe(0x8086);
  });

  it('mutes the PIT on IRQ0 while the HPET is in legacy replacement mode', () => {
    const { board, clock } = makeBoard();
    outb(board, 0x20, 0x11); outb(board, 0x21, 0x08); outb(board, 0x21, 0x04); outb(board, 0x21, 0x01);
    outb(board, 0x21, 0xfe);
    board.vmOps.mmioWrite(0xfed00010, 4, 0x3); // ENABLE_CNF | LEG_RT_CNF
    outb(board, 0x43, 0x34); outb(board, 0x40, 0x00); outb(board, 0x40, 0x10);
    clock.step(5_000_000);
    expect(board.pic.hasInterrupt()).toBe(false); // the PIT's ticks do not reach IRQ0
    board.vmOps.mmioWrite(0xfed00010, 4, 0x1); // legacy route off: the PIT owns IRQ0 again
    clock.step(5_000_000);
    expect(board.pic.hasInterrupt()).toBe(true);
  });
});

describe('pc board local APIC and interrupt routing', () => {
  it('maps the local APIC page and passes PIC interrupts through LINT0 (virtual wire)', () => {
    const { board } = makeBoard();
    expect(board.vmOps.mmioRead(0xfee00030, 4) & 0xff).toBe(0x14); // version register
    outb(board, 0x20, 0x11); outb(board, 0x21, 0x20); outb(board, 0x21, 0x04); outb(board, 0x21, 0x01);
    outb(board, 0x21, 0xfd);
    board.kbc.keyDown(0x1e);
    outb(board, 0x64, 0x60); outb(board, 0x60, 0x45);
    board.kbc.keyDown(0x1e);
    expect(board.router.hasInterrupt()).toBe(true);
    expect(board.router.acknowledge()).toBe(0x21);
  });

  it('delivers an MSI to the local APIC once it is software-enabled', () => {
    const { board } = makeBoard();
    board.vmOps.mmioWrite(0xfee000f0, 4, 0x1ff); // SVR: APIC enabled, spurious vector 0xff
    board.vmOps.mmioWrite(0xfee00350, 4, 0x10000); // mask LINT0: the APIC alone decides
    board.router.deliverMsi(0xfee00000, 0x0045); // fixed, vector 0x45, to APIC 0
    expect(board.router.hasInterrupt()).toBe(true);
    expect(board.router.acknowledge()).toBe(0x45);
  });
});
