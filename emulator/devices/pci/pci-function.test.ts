import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FakeIrqLine } from '../../test-support/fakes.js';
import {
  PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_ROM_SLOT, PCI_STATUS, PciFunction, type PciFunctionOptions, type PciBarKind,
} from './pci-function.js';

type Change = [number, PciBarKind, number | null, number];

function make(extra: Partial<PciFunctionOptions> = {}): { f: PciFunction; changes: Change[]; irq: FakeIrqLine } {
  const changes: Change[] = [];
  const irq = new FakeIrqLine();
  const f = new PciFunction({
    id: 'test', vendorId: 0x1234, deviceId: 0x5678, revision: 0x07, classCode: 0x020000,
    interruptPin: 1,
    bars: [
      { kind: 'io', sizeBytes: 32 },
      { kind: 'mem32', sizeBytes: 4096, prefetchable: true },
      { kind: 'mem64', sizeBytes: 0x4000 },
    ],
    romSizeBytes: 0x10000,
    irq,
    onBarChange: (i, k, a, s) => changes.push([i, k, a, s]),
    ...extra,
  });
  return { f, changes, irq };
}

/** A subclass that can set the device-driven error bits of Status. */
class ErrorRaiser extends PciFunction {
  raise(bits: number): void { this.poke8(PCI_STATUS + 1, bits >> 8); }
}

describe('PciFunction header', () => {
  it('presents identity, QEMU subsystem ids and the interrupt pin', () => {
    const { f } = make();
    expect(f.configRead(0, 4)).toBe(0x56781234);
    expect(f.configRead(0x08, 4)).toBe(0x02000007);
    expect(f.configRead(0x2c, 4)).toBe(0x11001af4);
    expect(f.configRead(0x3d, 1)).toBe(1);
    expect(f.configRead(0x0e, 1)).toBe(0);
  });

  it('keeps read-only registers and accepts the writable ones', () => {
    const { f } = make();
    f.configWrite(0, 4, 0xffffffff);
    f.configWrite(0x08, 4, 0xffffffff);
    f.configWrite(0x3d, 1, 3);
    expect(f.configRead(0, 4)).toBe(0x56781234);
    expect(f.configRead(0x08, 4)).toBe(0x02000007);
    expect(f.configRead(0x3d, 1)).toBe(1);
    f.configWrite(0x3c, 1, 11);
    f.configWrite(0x0c, 2, 0x4010);
    expect(f.configRead(0x3c, 1)).toBe(11);
    expect(f.configRead(0x0c, 2)).toBe(0x4010);
    f.configWrite(PCI_COMMAND, 2, 0xffff);
    expect(f.configRead(PCI_COMMAND, 2)).toBe(0x0547);
  });

  it('clears RW1C status bits only where ones are written', () => {
    const f = new ErrorRaiser({ id: 'e', vendorId: 1, deviceId: 2, revision: 0, classCode: 0 });
    f.raise(0xf900);
    expect(f.configRead(PCI_STATUS, 2)).toBe(0xf900);
    f.configWrite(PCI_STATUS, 2, 0x0000);
    expect(f.configRead(PCI_STATUS, 2)).toBe(0xf900);
    f.configWrite(PCI_STATUS + 1, 1, 0x20);
    expect(f.configRead(PCI_STATUS, 2)).toBe(0xd900);
    f.configWrite(PCI_STATUS, 2, 0xffff);
    expect(f.configRead(PCI_STATUS, 2)).toBe(0);
  });

  it('sets and clears the multi-function bit', () => {
    const { f } = make();
    f.setMultiFunction(true);
    expect(f.configRead(0x0e, 1)).toBe(0x80);
    f.reset('hard');
    expect(f.configRead(0x0e, 1)).toBe(0x80);
    f.setMultiFunction(false);
    expect(f.configRead(0x0e, 1)).toBe(0);
  });

  it('treats out-of-range config accesses as guest errors', () => {
    const { f } = make();
    expect(f.configRead(0xfe, 4)).toBe(0xffffffff);
    f.configWrite(0x100, 1, 0);
    expect(f.guestErrors).toBe(2);
  });
});

describe('PciFunction BARs', () => {
  it('answers size probes with the size mask and type flags', () => {
    const { f } = make();
    expect(f.configRead(0x10, 4)).toBe(0x00000001);
    expect(f.configRead(0x14, 4)).toBe(0x00000008);
    expect(f.configRead(0x18, 4)).toBe(0x00000004);
    for (let r = 0x10; r <= 0x24; r += 4) f.configWrite(r, 4, 0xffffffff);
    expect(f.configRead(0x10, 4)).toBe(0xffffffe1);
    expect(f.configRead(0x14, 4)).toBe(0xfffff008);
    expect(f.configRead(0x18, 4)).toBe(0xffffc004);
    expect(f.configRead(0x1c, 4)).toBe(0xffffffff);
    expect(f.configRead(0x20, 4)).toBe(0);
    expect(f.configRead(0x24, 4)).toBe(0);
    f.configWrite(0x30, 4, 0xffffffff);
    expect(f.configRead(0x30, 4)).toBe(0xffff0001);
  });

  it('reports mappings when address and decode enable agree', () => {
    const { f, changes } = make();
    f.configWrite(0x10, 4, 0xc040);
    f.configWrite(0x14, 4, 0xfebf0000);
    f.configWrite(0x18, 4, 0xfe000000);
    f.configWrite(0x1c, 4, 0x1);
    expect(changes).toEqual([]);
    f.configWrite(PCI_COMMAND, 2, 0x0001);
    expect(changes).toEqual([[0, 'io', 0xc040, 32]]);
    f.configWrite(PCI_COMMAND, 2, 0x0003);
    expect(changes.slice(1)).toEqual([[1, 'mem32', 0xfebf0000, 4096], [2, 'mem64', 0x1_fe00_0000, 0x4000]]);
    expect(f.barAddress(2)).toBe(0x1_fe00_0000);
    changes.length = 0;
    // Moving a live BAR: one report with the new address.
    f.configWrite(0x10, 2, 0xc080);
    expect(changes).toEqual([[0, 'io', 0xc080, 32]]);
    changes.length = 0;
    // A size probe while decoding: unmapped during the probe, back afterwards.
    f.configWrite(0x14, 4, 0xffffffff);
    expect(changes).toEqual([[1, 'mem32', 0xfffff000, 4096]]);
    f.configWrite(0x14, 4, 0xfebf0000);
    f.configWrite(PCI_COMMAND, 2, 0);
    expect(changes.slice(2)).toEqual([[0, 'io', null, 32], [1, 'mem32', null, 4096], [2, 'mem64', null, 0x4000]]);
  });

  it('maps nothing at address 0 or beyond the I/O space', () => {
    const { f, changes } = make();
    f.configWrite(PCI_COMMAND, 2, 0x0003);
    expect(changes).toEqual([]);
    f.configWrite(0x10, 4, 0x10000);
    expect(changes).toEqual([]);
    f.configWrite(0x10, 4, 0xffe0);
    expect(changes).toEqual([[0, 'io', 0xffe0, 32]]);
  });

  it('decodes the expansion ROM only with its enable bit and memory decode', () => {
    const { f, changes } = make();
    f.configWrite(0x30, 4, 0xfeb80000);
    f.configWrite(PCI_COMMAND, 2, 0x0002);
    expect(changes).toEqual([]);
    f.configWrite(0x30, 4, 0xfeb80001);
    expect(changes).toEqual([[PCI_ROM_SLOT, 'rom', 0xfeb80000, 0x10000]]);
    expect(f.barAddress(PCI_ROM_SLOT)).toBe(0xfeb80000);
    f.configWrite(0x30, 1, 0);
    expect(changes[1]).toEqual([PCI_ROM_SLOT, 'rom', null, 0x10000]);
  });

  it('reset unmaps every BAR', () => {
    const { f, changes } = make();
    f.configWrite(0x10, 4, 0xc000);
    f.configWrite(PCI_COMMAND, 2, 1);
    f.reset('hard');
    expect(changes).toEqual([[0, 'io', 0xc000, 32], [0, 'io', null, 32]]);
    expect(f.configRead(0x10, 4)).toBe(1);
  });

  it('rejects impossible BAR definitions (host bug)', () => {
    expect(() => make({ bars: [{ kind: 'io', sizeBytes: 24 }] })).toThrow(RangeError);
    expect(() => make({ bars: [{ kind: 'mem32', sizeBytes: 8 }] })).toThrow(RangeError);
    expect(() => make({ bars: [null, null, null, null, null, { kind: 'mem64', sizeBytes: 4096 }] })).toThrow(RangeError);
    expect(() => make({ bars: [{ kind: 'mem64', sizeBytes: 4096 }, { kind: 'io', sizeBytes: 4 }] })).toThrow();
  });
});

describe('PciFunction INTx and capabilities', () => {
  it('drives INTx, reflects it in Status and honours INTX_DISABLE', () => {
    const { f, irq } = make();
    f.setIntx(true);
    expect(irq.level).toBe(true);
    expect(f.configRead(PCI_STATUS, 2) & 0x8).toBe(0x8);
    f.configWrite(PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
    expect(irq.level).toBe(false);
    expect(f.configRead(PCI_STATUS, 2) & 0x8).toBe(0x8);
    f.configWrite(PCI_COMMAND, 2, 0);
    expect(irq.level).toBe(true);
    f.setIntx(false);
    expect(irq.level).toBe(false);
    expect(f.configRead(PCI_STATUS, 2) & 0x8).toBe(0);
  });

  it('ignores INTx for a function without an interrupt pin', () => {
    const { f, irq } = make({ interruptPin: 0 });
    f.setIntx(true);
    expect(irq.rising).toBe(0);
  });

  it('links capabilities from 34h and keeps their headers read-only', () => {
    const { f } = make();
    const a = f.addCapability(0x05, 10);
    const b = f.addCapability(0x09, 8);
    expect(a).toBe(0x40);
    expect(b).toBe(0x4c);
    expect(f.configRead(PCI_STATUS, 2) & 0x10).toBe(0x10);
    expect(f.configRead(0x34, 1)).toBe(0x40);
    expect(f.configRead(0x40, 2)).toBe(0x4c05);
    expect(f.configRead(0x4c, 2)).toBe(0x0009);
    f.configWrite(0x40, 4, 0xffffffff);
    expect(f.configRead(0x40, 2)).toBe(0x4c05);
    f.reset('hard');
    expect(f.configRead(0x34, 1)).toBe(0x40);
    expect(() => f.addCapability(0x11, 8, 0xfc)).toThrow(RangeError);
  });
});

describe('PciFunction state', () => {
  it('round-trips through JSON identically and re-reports mappings on load', () => {
    const { f } = make();
    f.configWrite(0x10, 4, 0xc000);
    f.configWrite(0x3c, 1, 10);
    f.configWrite(PCI_COMMAND, 2, 0x0005);
    f.setIntx(true);
    const saved = JSON.parse(JSON.stringify(f.saveState())) as unknown;
    const { f: g, changes, irq } = make();
    g.loadState(saved);
    expect(g.saveState()).toEqual(f.saveState());
    expect(changes).toEqual([[0, 'io', 0xc000, 32]]);
    expect(irq.level).toBe(true);
  });

  it('rejects bad state without touching the device', () => {
    const { f } = make();
    f.configWrite(0x3c, 1, 5);
    const before = f.saveState();
    const other = new PciFunction({ id: 'o', vendorId: 1, deviceId: 2, revision: 0, classCode: 0 });
    expect(() => f.loadState(other.saveState())).toThrow();
    expect(() => f.loadState({ v: 2, config: '00'.repeat(256), intx: false })).toThrow();
    expect(() => f.loadState({ v: 1, config: 'zz'.repeat(256), intx: false })).toThrow();
    expect(() => f.loadState({ v: 1, config: '00', intx: false })).toThrow();
    expect(() => f.loadState(null)).toThrow();
    expect(f.saveState()).toEqual(before);
  });

  it('never throws on random config accesses and keeps its invariants', () => {
    const access = fc.record({
      write: fc.boolean(),
      size: fc.constantFrom(1 as const, 2 as const, 4 as const),
      reg: fc.integer({ min: 0, max: 0x103 }),
      value: fc.integer({ min: 0, max: 0xffffffff }),
      intx: fc.option(fc.boolean()),
    });
    fc.assert(fc.property(fc.array(access, { maxLength: 60 }), (ops) => {
      const { f, irq } = make();
      for (const op of ops) {
        if (op.write) f.configWrite(op.reg, op.size, op.value);
        else f.configRead(op.reg, op.size);
        if (op.intx !== null) f.setIntx(op.intx);
      }
      expect(f.configRead(0, 4)).toBe(0x56781234);
      expect(f.configRead(0x10, 4) & 0x3).toBe(1);
      expect(f.configRead(0x14, 4) & 0xf).toBe(8);
      const disabled = (f.configRead(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE) !== 0;
      expect(irq.level).toBe(f.intxLevel && !disabled);
      const g = make().f;
      g.loadState(JSON.parse(JSON.stringify(f.saveState())));
      expect(g.saveState()).toEqual(f.saveState());
    }), { numRuns: 150 });
  });
});
