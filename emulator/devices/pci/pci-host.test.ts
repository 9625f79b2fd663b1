import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PioBus } from '../../memory/pio-bus.js';
import { PciBus, devfn } from './pci-bus.js';
import { PciHost } from './pci-host.js';
import { PciFunction } from './pci-function.js';
import { piix3SlotToPirq } from './piix3.js';

function fn(id: string, deviceId: number): PciFunction {
  return new PciFunction({ id, vendorId: 0x8086, deviceId, revision: 1, classCode: 0x060000, interruptPin: 1 });
}

function board(): { pio: PioBus; bus: PciBus; host: PciHost; rcr: number[]; pirq: Array<[number, boolean]> } {
  const rcr: number[] = [];
  const pirq: Array<[number, boolean]> = [];
  const bus = new PciBus({ mapIntx: piix3SlotToPirq, onPirqLevel: (p, l) => pirq.push([p, l]) });
  let rcrValue = 0;
  const host = new PciHost(bus, { resetControl: { read: () => rcrValue, write: (v) => { rcrValue = v; rcr.push(v); } } });
  const pio = new PioBus();
  pio.register(0xcf8, 4, 'pci-conf-addr', host.addressPort);
  pio.register(0xcfc, 4, 'pci-conf-data', host.dataPort);
  bus.add(0, 0, fn('hb', 0x1237));
  bus.add(1, 0, fn('isa', 0x7000));
  bus.add(1, 3, fn('pm', 0x7113));
  return { pio, bus, host, rcr, pirq };
}

const addr = (dev: number, f: number, reg: number, bus = 0): number =>
  (0x8000_0000 | (bus << 16) | (dev << 11) | (f << 8) | (reg & 0xfc)) >>> 0;

describe('PciHost (configuration mechanism #1)', () => {
  it('latches CONFIG_ADDRESS on dword writes only', () => {
    const { pio, host } = board();
    pio.write(0xcf8, 4, 0x80000000);
    expect(pio.read(0xcf8, 4)).toBe(0x80000000);
    // Linux's type-1 probe: a byte write to 0CFBh must not disturb the register.
    pio.write(0xcfb, 1, 0x01);
    expect(pio.read(0xcf8, 4)).toBe(0x80000000);
    pio.write(0xcf8, 2, 0x1234);
    expect(host.configAddress).toBe(0x80000000);
    pio.write(0xcf8, 4, 0xffffffff);
    expect(host.configAddress).toBe(0x80fffffc);
  });

  it('reads and writes configuration space at every lane and width', () => {
    const { pio } = board();
    pio.write(0xcf8, 4, addr(0, 0, 0));
    expect(pio.read(0xcfc, 4)).toBe(0x12378086);
    expect(pio.read(0xcfc, 2)).toBe(0x8086);
    expect(pio.read(0xcfe, 2)).toBe(0x1237);
    expect(pio.read(0xcfd, 1)).toBe(0x80);
    expect(pio.read(0xcff, 1)).toBe(0x12);
    pio.write(0xcf8, 4, addr(1, 3, 0x3c));
    pio.write(0xcfc, 1, 9);
    expect(pio.read(0xcfc, 4) & 0xffff).toBe(0x0109);
    pio.write(0xcf8, 4, addr(0, 0, 0x0c));
    pio.write(0xcfd, 1, 0x40);
    pio.write(0xcfc, 1, 0x10);
    expect(pio.read(0xcfc, 2)).toBe(0x4010);
  });

  it('reads all-ones from absent functions, other buses, and with the enable bit clear', () => {
    const { pio } = board();
    pio.write(0xcf8, 4, addr(2, 0, 0));
    expect(pio.read(0xcfc, 4)).toBe(0xffffffff);
    pio.write(0xcf8, 4, addr(1, 1, 0));
    expect(pio.read(0xcfc, 2)).toBe(0xffff);
    pio.write(0xcf8, 4, addr(0, 0, 0, 1));
    expect(pio.read(0xcfc, 4)).toBe(0xffffffff);
    pio.write(0xcf8, 4, 0);
    expect(pio.read(0xcfc, 4)).toBe(0xffffffff);
    pio.write(0xcfc, 4, 0); // dropped
    pio.write(0xcf8, 4, addr(0, 0, 0));
    expect(pio.read(0xcfc, 4)).toBe(0x12378086);
  });

  it('hands byte accesses at 0CF9h to the reset control register', () => {
    const { pio, rcr } = board();
    pio.write(0xcf9, 1, 0x02);
    pio.write(0xcf9, 1, 0x06);
    expect(rcr).toEqual([0x02, 0x06]);
    expect(pio.read(0xcf9, 1)).toBe(0x06);
  });

  it('sets the multi-function bit of function 0 when a sibling exists', () => {
    const { pio } = board();
    pio.write(0xcf8, 4, addr(1, 0, 0x0c));
    expect(pio.read(0xcfe, 1)).toBe(0x80);
    pio.write(0xcf8, 4, addr(0, 0, 0x0c));
    expect(pio.read(0xcfe, 1)).toBe(0x00);
  });

  it('round-trips its state and validates it', () => {
    const { pio, host } = board();
    pio.write(0xcf8, 4, addr(1, 3, 0x40));
    const { host: h2 } = board();
    h2.loadState(JSON.parse(JSON.stringify(host.saveState())));
    expect(h2.saveState()).toEqual(host.saveState());
    expect(() => h2.loadState({ v: 1, address: 3 })).toThrow();
    expect(() => h2.loadState({ v: 9, address: 0 })).toThrow();
    expect(h2.configAddress).toBe(addr(1, 3, 0x40));
  });

  it('never throws on random port accesses', () => {
    const access = fc.record({
      write: fc.boolean(),
      port: fc.integer({ min: 0xcf6, max: 0xd01 }),
      size: fc.constantFrom(1 as const, 2 as const, 4 as const),
      value: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(fc.property(fc.array(access, { maxLength: 80 }), (ops) => {
      const { pio, bus } = board();
      for (const op of ops) {
        if (op.write) pio.write(op.port, op.size, op.value);
        else pio.read(op.port, op.size);
      }
      expect(bus.configRead(devfn(0, 0), 0, 4)).toBe(0x12378086);
    }), { numRuns: 150 });
  });
});

describe('PciBus', () => {
  it('refuses double population and bad slots (board bugs)', () => {
    const { bus } = board();
    expect(() => bus.add(0, 0, fn('x', 1))).toThrow();
    expect(() => bus.add(32, 0, fn('x', 1))).toThrow(RangeError);
    expect(bus.functions().map((e) => `${e.device}.${e.fn}`)).toEqual(['0.0', '1.0', '1.3']);
  });

  it('wire-ORs INTx per PIRQ using the slot swizzle', () => {
    const { bus, pirq } = board();
    // Slot 3 INTA and slot 2 INTB both land on PIRQC (index 2).
    const a = bus.intxLine(3, 0, 1);
    const b = bus.intxLine(2, 0, 2);
    a.set(true);
    b.set(true);
    a.set(true);
    expect(pirq).toEqual([[2, true]]);
    a.set(false);
    expect(bus.pirqLevel(2)).toBe(true);
    b.set(false);
    expect(pirq).toEqual([[2, true], [2, false]]);
    bus.intxLine(4, 0, 1).pulse();
    expect(pirq.slice(2)).toEqual([[3, true], [3, false]]);
  });

  it('routes a function INTx end to end', () => {
    const { bus, pirq } = board();
    const f = new PciFunction({
      id: 'nic', vendorId: 0x1af4, deviceId: 0x1000, revision: 0, classCode: 0x020000,
      interruptPin: 1, irq: bus.intxLine(5, 0, 1),
    });
    bus.add(5, 0, f);
    f.setIntx(true);
    expect(pirq).toEqual([[0, true]]);
  });
});
