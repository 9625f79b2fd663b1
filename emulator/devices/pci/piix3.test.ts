import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PciBus } from './pci-bus.js';
import { Piix3, piix3SlotToPirq } from './piix3.js';

function make(): { p: Piix3; isa: Array<[number, boolean]>; routes: Array<[number, number | null]>; resets: boolean[] } {
  const isa: Array<[number, boolean]> = [];
  const routes: Array<[number, number | null]> = [];
  const resets: boolean[] = [];
  const p = new Piix3({
    setIsaIrq: (irq, level) => isa.push([irq, level]),
    onPirqRouteChange: (pirq, irq) => routes.push([pirq, irq]),
    onResetRequest: (hard) => resets.push(hard),
  });
  return { p, isa, routes, resets };
}

describe('Piix3', () => {
  it('is 8086:7000, an ISA bridge with QEMU power-on values', () => {
    const { p } = make();
    expect(p.configRead(0, 4)).toBe(0x70008086);
    expect(p.configRead(0x08, 4) >>> 8).toBe(0x060100);
    expect(p.configRead(0x04, 4)).toBe(0x02000000);
    expect(p.configRead(0x60, 4)).toBe(0x80808080);
    expect(p.configRead(0x4c, 1)).toBe(0x4d);
  });

  it('routes PIRQs to ISA IRQs through 60h-63h', () => {
    const { p, routes } = make();
    expect(p.routePirq(0)).toBeNull();
    // SeaBIOS piix_isa_bridge_setup: 10, 10, 11, 11
    p.configWrite(0x60, 4, 0x0b0b0a0a);
    expect([0, 1, 2, 3].map((i) => p.routePirq(i))).toEqual([10, 10, 11, 11]);
    expect(routes).toEqual([[0, 10], [1, 10], [2, 11], [3, 11]]);
    p.configWrite(0x63, 1, 0x8b);
    expect(p.routePirq(3)).toBeNull();
    expect(p.configRead(0x63, 1)).toBe(0x8b);
    p.configWrite(0x62, 1, 0x7d); // reserved bits 6:4 read back 0; IRQ 13 reserved
    expect(p.configRead(0x62, 1)).toBe(0x0d);
    expect(p.routePirq(2)).toBeNull();
    expect(p.guestErrors).toBe(1);
    expect(p.routePirq(7)).toBeNull();
  });

  it('wire-ORs PIRQ levels onto ISA IRQs and follows re-routing', () => {
    const { p, isa } = make();
    p.setPirqLevel(0, true);
    expect(isa).toEqual([]);
    p.configWrite(0x60, 2, 0x0a0a);
    expect(isa).toEqual([[10, true]]);
    p.setPirqLevel(1, true);
    p.setPirqLevel(0, false);
    expect(isa).toEqual([[10, true]]);
    p.setPirqLevel(1, false);
    expect(isa).toEqual([[10, true], [10, false]]);
    p.setPirqLevel(1, true);
    isa.length = 0;
    p.configWrite(0x61, 1, 0x05);
    expect(isa).toEqual([[5, true], [10, false]]);
  });

  it('swizzles slot/pin like QEMU pc (pin + slot - 1) mod 4', () => {
    expect(piix3SlotToPirq(1, 0)).toBe(0);
    expect(piix3SlotToPirq(2, 0)).toBe(1);
    expect(piix3SlotToPirq(3, 0)).toBe(2);
    expect(piix3SlotToPirq(4, 0)).toBe(3);
    expect(piix3SlotToPirq(5, 0)).toBe(0);
    expect(piix3SlotToPirq(3, 3)).toBe(1);
  });

  it('connects to a PciBus as the interrupt router', () => {
    const { p, isa } = make();
    const bus = new PciBus({ mapIntx: piix3SlotToPirq, onPirqLevel: (i, l) => p.setPirqLevel(i, l) });
    bus.add(1, 0, p);
    p.configWrite(0x60, 4, 0x0b0b0a0a);
    bus.intxLine(3, 0, 1).set(true);
    expect(isa).toEqual([[11, true]]);
  });

  it('resets through 0CF9h when RCPU is written, hard with SRST', () => {
    const { p, resets } = make();
    p.resetControl.write(0x02);
    expect(p.resetControl.read()).toBe(0x02);
    p.resetControl.write(0x06);
    p.resetControl.write(0x04);
    expect(resets).toEqual([true, false]);
  });

  it('round-trips state and rejects bad state', () => {
    const { p } = make();
    p.configWrite(0x60, 4, 0x0b0b0a0a);
    p.resetControl.write(2);
    const saved = JSON.parse(JSON.stringify(p.saveState())) as unknown;
    const q = make();
    q.p.setPirqLevel(2, true);
    q.p.loadState(saved);
    expect(q.p.saveState()).toEqual(p.saveState());
    expect(q.isa).toEqual([[11, true]]);
    expect(() => q.p.loadState({ ...(saved as object), rcr: 7 })).toThrow();
  });

  it('never throws on random accesses and keeps ISA outputs consistent', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('cfg' as const), reg: fc.integer({ min: 0x5c, max: 0x67 }), v: fc.integer({ min: 0, max: 0xff }) }),
      fc.record({ kind: fc.constant('pirq' as const), reg: fc.integer({ min: 0, max: 3 }), v: fc.integer({ min: 0, max: 1 }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const { p, isa } = make();
      const levels = [false, false, false, false];
      for (const o of ops) {
        if (o.kind === 'cfg') p.configWrite(o.reg, 1, o.v);
        else { levels[o.reg] = o.v === 1; p.setPirqLevel(o.reg, o.v === 1); }
      }
      const out = new Map<number, boolean>();
      for (const [irq, l] of isa) out.set(irq, l);
      for (let irq = 0; irq < 16; irq++) {
        const want = [0, 1, 2, 3].some((i) => levels[i] && p.routePirq(i) === irq);
        expect(out.get(irq) ?? false).toBe(want);
      }
    }), { numRuns: 150 });
  });
});
