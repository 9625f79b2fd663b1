import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Ioapic, OFS_EOI, OFS_IOREGSEL, OFS_IOWIN, RTE_DELIVS, RTE_DESTMOD_LOGICAL, RTE_INTPOL_LOW, RTE_MASKED, RTE_REMOTE_IRR,
  RTE_TRIGGER_LEVEL, type IoapicMessage,
} from './ioapic.js';

function make(initialId = 0): { io: Ioapic; sent: IoapicMessage[]; logs: string[] } {
  const sent: IoapicMessage[] = [];
  const logs: string[] = [];
  const io = new Ioapic({ deliver: (m) => sent.push(m), initialId, log: (m) => logs.push(m) });
  return { io, sent, logs };
}

const rd = (io: Ioapic, reg: number): number => { io.mmio.write(OFS_IOREGSEL, 1, reg); return io.mmio.read(OFS_IOWIN, 4); };
const wr = (io: Ioapic, reg: number, v: number): void => { io.mmio.write(OFS_IOREGSEL, 1, reg); io.mmio.write(OFS_IOWIN, 4, v >>> 0); };
const route = (io: Ioapic, pin: number, lo: number, dest = 0): void => { wr(io, 0x11 + 2 * pin, dest << 24); wr(io, 0x10 + 2 * pin, lo); };

describe('IOAPIC registers (82093AA 3.0)', () => {
  it('reports id, version 0x20 with 24 entries, arbitration id', () => {
    const { io } = make(4);
    expect(rd(io, 0x00)).toBe(0x0400_0000);
    expect(rd(io, 0x01)).toBe(0x0017_0020);
    expect(rd(io, 0x02)).toBe(0x0400_0000);
    wr(io, 0x00, 0x0700_0000);
    expect(rd(io, 0x00)).toBe(0x0700_0000);
    expect(io.mmio.read(OFS_IOREGSEL, 4)).toBe(0x00);
  });
  it('resets entries to masked and keeps read-only bits', () => {
    const { io } = make();
    for (let n = 0; n < 24; n++) expect(rd(io, 0x10 + 2 * n)).toBe(RTE_MASKED);
    wr(io, 0x10, 0xffff_ffff);
    expect(rd(io, 0x10) & (RTE_DELIVS | RTE_REMOTE_IRR)).toBe(0);
    expect(rd(io, 0x10) & 0x1_afff).toBe(0x1_afff);
    wr(io, 0x11, 0xffff_ffff);
    expect(rd(io, 0x11)).toBe(0xff00_0000);
  });
  it('counts misuse instead of throwing', () => {
    const { io, logs } = make();
    io.mmio.write(OFS_IOREGSEL, 1, 0x50);
    expect(io.mmio.read(OFS_IOWIN, 4)).toBe(0);
    io.mmio.write(OFS_IOWIN, 2, 5);
    wr(io, 0x01, 0);
    expect(io.misuseCount).toBe(3);
    expect(logs).toHaveLength(3);
  });
});

describe('IOAPIC delivery', () => {
  it('routes an edge pin with vector, mode and destination; masked edges are lost', () => {
    const { io, sent } = make();
    route(io, 2, 0x30 | (1 << 8) | RTE_DESTMOD_LOGICAL, 0x03);
    io.setIrq(2, true);
    io.setIrq(2, true); // no new edge
    io.setIrq(2, false);
    expect(sent).toEqual([{ vector: 0x30, deliveryMode: 1, destMode: 'logical', dest: 3, trigger: 'edge', pin: 2 }]);
    route(io, 2, 0x30 | RTE_MASKED);
    io.setIrq(2, true); io.setIrq(2, false);
    route(io, 2, 0x30);
    expect(sent).toHaveLength(1);
    io.setIrq(2, true);
    expect(sent).toHaveLength(2);
  });

  it('holds level interrupts with Remote IRR until EOI, then re-delivers if still asserted', () => {
    const { io, sent } = make();
    route(io, 9, 0x41 | RTE_TRIGGER_LEVEL | RTE_INTPOL_LOW, 1);
    io.setIrq(9, true);
    expect(sent.map((m) => [m.vector, m.trigger, m.dest])).toEqual([[0x41, 'level', 1]]);
    expect(rd(io, 0x10 + 18) & RTE_REMOTE_IRR).toBe(RTE_REMOTE_IRR);
    io.setIrq(9, true);
    expect(sent).toHaveLength(1);
    io.eoi(0x42); // other vector: nothing
    expect(sent).toHaveLength(1);
    io.eoi(0x41); // still asserted: delivered again
    expect(sent).toHaveLength(2);
    io.setIrq(9, false);
    io.eoi(0x41);
    expect(sent).toHaveLength(2);
    expect(rd(io, 0x10 + 18) & RTE_REMOTE_IRR).toBe(0);
  });

  it('accepts EOIs through the version-0x20 EOI register', () => {
    const { io, sent } = make();
    route(io, 11, 0x51 | RTE_TRIGGER_LEVEL);
    io.setIrq(11, true);
    io.mmio.write(OFS_EOI, 4, 0x51);
    expect(sent).toHaveLength(2);
  });

  it('delivers a level pin asserted while masked once unmasked', () => {
    const { io, sent } = make();
    route(io, 10, 0x60 | RTE_TRIGGER_LEVEL | RTE_MASKED);
    io.setIrq(10, true);
    expect(sent).toHaveLength(0);
    route(io, 10, 0x60 | RTE_TRIGGER_LEVEL);
    expect(sent).toHaveLength(1);
  });

  it('clears Remote IRR when an entry becomes edge-triggered', () => {
    const { io } = make();
    route(io, 5, 0x70 | RTE_TRIGGER_LEVEL);
    io.setIrq(5, true);
    route(io, 5, 0x70);
    expect(rd(io, 0x10 + 10) & RTE_REMOTE_IRR).toBe(0);
  });

  it('rejects a pin number the board cannot have (host bug)', () => {
    expect(() => make().io.setIrq(24, true)).toThrow();
  });
});

describe('IOAPIC robustness and state', () => {
  const op = fc.record({
    kind: fc.constantFrom('read', 'write', 'irq', 'eoi'),
    offset: fc.constantFrom(0x00, 0x10, 0x40, 0x20, 0x04, 0xff),
    size: fc.constantFrom<1 | 2 | 4>(1, 2, 4),
    value: fc.oneof(fc.integer({ min: 0, max: 0x3f }), fc.integer({ min: 0, max: 0xffff_ffff })),
    pin: fc.integer({ min: 0, max: 23 }),
    level: fc.boolean(),
  });

  it('never throws on random MMIO, pin and EOI sequences, and round-trips its state', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const { io } = make(2);
      for (const o of ops) {
        if (o.kind === 'read') io.mmio.read(o.offset, o.size);
        else if (o.kind === 'write') io.mmio.write(o.offset, o.size, o.size === 4 ? o.value : o.value & ((1 << (8 * o.size)) - 1));
        else if (o.kind === 'irq') io.setIrq(o.pin, o.level);
        else io.eoi(o.value & 0xff);
      }
      const json = JSON.stringify(io.saveState());
      const fresh = make().io;
      fresh.loadState(JSON.parse(json));
      expect(JSON.stringify(fresh.saveState())).toBe(json);
    }), { numRuns: 100 });
  });

  it('round-trips a destination with bit 31 set (unsigned dwords)', () => {
    const { io } = make();
    wr(io, 0x11, 0x8000_0000);
    const fresh = make().io;
    fresh.loadState(JSON.parse(JSON.stringify(io.saveState())));
    expect(fresh.entry(0)[1]).toBe(0x8000_0000);
  });

  it('rejects malformed state', () => {
    const { io } = make();
    expect(() => io.loadState({ v: 2 })).toThrow();
    expect(() => io.loadState({ ...io.saveState(), redirLo: [1, 2] })).toThrow();
    expect(() => io.loadState({ ...io.saveState(), apicId: 99 })).toThrow();
  });

  it('reset masks every entry and restores the initial id', () => {
    const { io } = make(3);
    wr(io, 0x00, 0x0900_0000);
    route(io, 1, 0x31);
    io.reset('hard');
    expect(rd(io, 0x00)).toBe(0x0300_0000);
    expect(io.entry(1)).toEqual([RTE_MASKED, 0]);
  });
});
