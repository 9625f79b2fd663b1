import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../time/clock.js';
import { FwCfgKey } from '../devices/fw-cfg/fw-cfg.js';
import { MSR_IA32_APIC_BASE } from '../devices/apic/lapic.js';
import { PcBoard, type PcBoardOptions } from './pc.js';

const APIC = 0xfee0_0000;

function makeBoard(cpus: number, over: Partial<PcBoardOptions> = {}) {
  const events: string[] = [];
  const board = new PcBoard({
    memoryBytes: 32 * 1024 * 1024,
    bios: new Uint8Array(128 * 1024),
    vgaBios: null,
    clock: new VirtualClock(),
    rtcStart: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
    cpus,
    onDebugExit: () => {},
    onPowerOff: () => {},
    onResetRequest: () => {},
    setA20: () => {},
    onIntr: (level, cpu) => events.push(`intr ${cpu} ${level}`),
    onNmi: (cpu) => events.push(`nmi ${cpu}`),
    onInit: (cpu) => events.push(`init ${cpu}`),
    onStartup: (cpu, v) => events.push(`sipi ${cpu} ${v.toString(16)}`),
    ...over,
  });
  board.reset();
  return { board, events };
}

/** Reads fw_cfg item `key` (selector 0x510, data 0x511) as a little-endian number of `n` bytes. */
function fwCfgRead(b: PcBoard, key: number, n: number): number {
  b.vmOps.pioWrite(0x510, 2, key);
  let v = 0;
  for (let i = 0; i < n; i++) v += b.vmOps.pioRead(0x511, 1) * 2 ** (8 * i);
  return v;
}

/** CMOS byte `index` through ports 0x70/0x71. */
function cmos(b: PcBoard, index: number): number {
  b.vmOps.pioWrite(0x70, 1, index);
  return b.vmOps.pioRead(0x71, 1);
}

describe('pc board with several CPUs', () => {
  it('tells the firmware the CPU count: fw_cfg NB_CPUS/MAX_CPUS, CMOS 0x5F, MADT local APICs, DSDT processors', () => {
    const { board } = makeBoard(3);
    expect(fwCfgRead(board, FwCfgKey.NB_CPUS, 2)).toBe(3);
    expect(fwCfgRead(board, FwCfgKey.MAX_CPUS, 2)).toBe(3);
    expect(cmos(board, 0x5f)).toBe(2);
    const tables = board.fwCfg.file('etc/acpi/tables')!;
    const text = Buffer.from(tables).toString('latin1');
    // MADT (ACPI 6.5 5.2.12): type 0 entries, length 8, processor UID, APIC ID, flags enabled.
    const madt = text.indexOf('APIC');
    const madtLen = new DataView(tables.buffer, tables.byteOffset + madt + 4, 4).getUint32(0, true);
    const lapics: number[] = [];
    for (let p = madt + 44; p < madt + madtLen; p += tables[p + 1]!) {
      if (tables[p] === 0) lapics.push(tables[p + 3]!);
    }
    expect(lapics).toEqual([0, 1, 2]);
    // DSDT (ACPI 6.5 19.6.108 Processor): three ProcessorOp (5B 83) objects.
    const dsdt = text.indexOf('DSDT');
    const dsdtLen = new DataView(tables.buffer, tables.byteOffset + dsdt + 4, 4).getUint32(0, true);
    const aml = tables.subarray(dsdt, dsdt + dsdtLen);
    let processors = 0;
    for (let i = 0; i + 1 < aml.length; i++) if (aml[i] === 0x5b && aml[i + 1] === 0x83) processors++;
    expect(processors).toBe(3);
  });

  it('gives every CPU its own APIC at 0xFEE00000 (APIC ID = CPU index)', () => {
    const { board } = makeBoard(2);
    expect(board.lapics.map((a) => a.initialApicId)).toEqual([0, 1]);
    expect(board.cpuVmOps(0).mmioRead(APIC + 0x20, 4)).toBe(0);
    expect(board.cpuVmOps(1).mmioRead(APIC + 0x20, 4)).toBe(0x0100_0000);
    board.cpuVmOps(1).mmioWrite(APIC + 0x80, 4, 0x40); // TPR of CPU 1 only
    expect(board.cpuVmOps(1).mmioRead(APIC + 0x80, 4)).toBe(0x40);
    expect(board.cpuVmOps(0).mmioRead(APIC + 0x80, 4)).toBe(0);
    expect(board.vmOps.mmioRead(APIC + 0x20, 4)).toBe(0); // the BSP's VmOps
    expect(() => board.cpuVmOps(2)).toThrow(RangeError);
  });

  it('follows IA32_APIC_BASE per CPU: relocation maps the new page as MMIO, disable hides the APIC', () => {
    const { board } = makeBoard(2);
    const page = 0x9_0000;
    expect(board.physMap.readPage[page >>> 12]).not.toBe(-1); // RAM
    expect(board.lapics[1]!.writeMsr(MSR_IA32_APIC_BASE, page | 0x800, 0)).toBe(true);
    expect(board.physMap.readPage[page >>> 12]).toBe(-1); // slow path now
    expect(board.cpuVmOps(1).mmioRead(page + 0x20, 4)).toBe(0x0100_0000);
    expect(board.cpuVmOps(0).mmioRead(page + 0x20, 4)).toBe(0xffff_ffff); // not CPU 0's APIC
    expect(board.cpuVmOps(0).mmioRead(APIC + 0x20, 4)).toBe(0);
    // Global disable: CPU 1 has no APIC any more; the page returns to RAM when nobody uses it.
    expect(board.lapics[1]!.writeMsr(MSR_IA32_APIC_BASE, page, 0)).toBe(true);
    expect(board.physMap.readPage[page >>> 12]).not.toBe(-1);
    expect(board.cpuVmOps(1).mmioRead(APIC + 0x20, 4)).toBe(0xffff_ffff);
    // A disabled APIC accepts no interrupts (SDM 11.4.3).
    board.router.deliverMsi(0xfee0_1000, 0x41);
    expect(board.lapics[1]!.bits(0x41).irr).toBe(false);
    board.reset();
    expect(board.cpuVmOps(1).mmioRead(APIC + 0x20, 4)).toBe(0x0100_0000);
  });

  it('routes IOAPIC pins by destination to the second CPU (physical, logical flat, lowest priority)', () => {
    const { board, events } = makeBoard(2);
    const [a0, a1] = board.lapics as [typeof board.lapics[0], typeof board.lapics[0]];
    for (const [i, a] of [a0, a1].entries()) {
      board.cpuVmOps(i).mmioWrite(APIC + 0xf0, 4, 0x1ff); // software enable
      board.cpuVmOps(i).mmioWrite(APIC + 0xd0, 4, (1 << i) << 24); // LDR: logical ID bit i (flat)
      expect(a.softwareEnabled).toBe(true);
    }
    const io = board.ioapic;
    const route = (pin: number, low: number, destByte: number): void => {
      io.writeRegister(0x10 + 2 * pin, low);
      io.writeRegister(0x11 + 2 * pin, destByte << 24);
    };
    route(4, 0x51, 1); // COM1's pin: fixed, physical APIC 1, edge
    board.isaIrq(4).set(true);
    expect(a1.bits(0x51).irr).toBe(true);
    expect(a0.bits(0x51).irr).toBe(false);
    expect(events).toContain('intr 1 true');
    expect(board.router.cpu(1).hasInterrupt()).toBe(true);
    expect(board.router.cpu(1).acknowledge()).toBe(0x51);
    board.isaIrq(4).set(false);

    route(3, 0x800 | 0x52, 0x02); // logical flat, destination bit 1 -> CPU 1
    board.isaIrq(3).set(true);
    expect(a1.bits(0x52).irr).toBe(true);
    expect(a0.bits(0x52).irr).toBe(false);
    board.isaIrq(3).set(false);

    board.cpuVmOps(1).mmioWrite(APIC + 0x80, 4, 0xa0); // CPU 1 busy: lowest priority picks CPU 0
    route(5, 0x800 | 0x100 | 0x53, 0x03);
    board.isaIrq(5).set(true);
    expect([a0.bits(0x53).irr, a1.bits(0x53).irr]).toEqual([true, false]);
  });

  it('passes INIT, STARTUP and NMI IPIs to the machine by CPU index', () => {
    const { board, events } = makeBoard(3);
    const ops = board.cpuVmOps(0);
    ops.mmioWrite(APIC + 0xf0, 4, 0x1ff);
    ops.mmioWrite(APIC + 0x310, 4, 0x0200_0000);
    ops.mmioWrite(APIC + 0x300, 4, 0x0000_4500); // INIT to APIC 2
    ops.mmioWrite(APIC + 0x300, 4, 0x000c_4608); // SIPI 08h to all but self
    ops.mmioWrite(APIC + 0x310, 4, 0x0100_0000);
    ops.mmioWrite(APIC + 0x300, 4, 0x0000_4400); // NMI to APIC 1
    expect(events.filter((e) => !e.startsWith('intr'))).toEqual(['init 2', 'sipi 1 8', 'sipi 2 8', 'nmi 1']);
    expect(ops.mmioRead(APIC + 0x300, 4) & (1 << 12)).toBe(0); // delivery status: idle
  });

  it('refuses CPU counts outside 1-8', () => {
    expect(() => makeBoard(0)).toThrow(/cpus/);
    expect(() => makeBoard(9)).toThrow(/cpus/);
  });
});
