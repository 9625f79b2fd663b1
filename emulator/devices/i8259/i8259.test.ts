import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { I8259 } from './i8259.js';
import { inb, outb } from '../../test-support/fakes.js';
import { accessArb, expectRoundTrip, replay } from '../../test-support/device-harness.js';

/** Standard PC/AT initialisation (SeaBIOS/Linux style), vectors 0x08 and 0x70. */
function setup(icw4 = 0x01) {
  const intr: boolean[] = [];
  const pic = new I8259({ onIntr: (l) => intr.push(l) });
  outb(pic.masterIo, 0, 0x11); outb(pic.masterIo, 1, 0x08); outb(pic.masterIo, 1, 0x04); outb(pic.masterIo, 1, icw4);
  outb(pic.slaveIo, 0, 0x11); outb(pic.slaveIo, 1, 0x70); outb(pic.slaveIo, 1, 0x02); outb(pic.slaveIo, 1, icw4);
  outb(pic.masterIo, 1, 0x00);
  outb(pic.slaveIo, 1, 0x00);
  return { pic, intr };
}
const EOI = 0x20;

describe('I8259', () => {
  it('delivers an edge on IRQ0 with the ICW2 vector and sets ISR', () => {
    const { pic, intr } = setup();
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(intr).toEqual([true]);
    expect(pic.acknowledge()).toBe(0x08);
    expect(pic.hasInterrupt()).toBe(false);
    outb(pic.masterIo, 0, 0x0b); // OCW3: read ISR
    expect(inb(pic.masterIo, 0)).toBe(0x01);
    // The line is still high: no new edge, nothing pending after EOI.
    outb(pic.masterIo, 0, EOI);
    expect(inb(pic.masterIo, 0)).toBe(0);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(0, false);
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(true);
  });

  it('respects fully nested priority and masks', () => {
    const { pic } = setup();
    outb(pic.masterIo, 1, 0x02); // mask IRQ1
    pic.setIrq(1, true);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x0c);
    pic.setIrq(3, true); // higher priority than 4: nests
    expect(pic.acknowledge()).toBe(0x0b);
    pic.setIrq(5, true); // lower: waits
    expect(pic.hasInterrupt()).toBe(false);
    outb(pic.masterIo, 0, EOI); // clears IRQ3 (highest in service)
    expect(pic.hasInterrupt()).toBe(false);
    outb(pic.masterIo, 0, EOI); // clears IRQ4
    expect(pic.acknowledge()).toBe(0x0d);
    outb(pic.masterIo, 1, 0x00); // unmask IRQ1: pending edge is kept in IRR
    expect(pic.hasInterrupt()).toBe(true); // IRQ5 in service, IRQ1 higher: nests
    expect(pic.acknowledge()).toBe(0x09);
  });

  it('cascades the slave through IRQ2', () => {
    const { pic } = setup();
    pic.setIrq(12, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x74);
    outb(pic.slaveIo, 0, 0x0b);
    expect(inb(pic.slaveIo, 0)).toBe(0x10);
    outb(pic.masterIo, 0, 0x0b);
    expect(inb(pic.masterIo, 0)).toBe(0x04);
    outb(pic.slaveIo, 0, EOI);
    outb(pic.masterIo, 0, EOI);
    expect(inb(pic.masterIo, 0)).toBe(0);
  });

  it('specific EOI clears only the named level', () => {
    const { pic } = setup();
    pic.setIrq(3, true); pic.acknowledge();
    pic.setIrq(1, true); pic.acknowledge();
    outb(pic.masterIo, 0, 0x0b);
    expect(inb(pic.masterIo, 0)).toBe(0x0a);
    outb(pic.masterIo, 0, 0x63); // specific EOI IRQ3
    expect(inb(pic.masterIo, 0)).toBe(0x02);
  });

  it('reports spurious IRQ7 when a level request vanishes before INTA', () => {
    const { pic } = setup();
    outb(pic.elcrIo, 0, 0x20); // IRQ5 level-triggered
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(true);
    pic.setIrq(5, false);
    expect(pic.hasInterrupt()).toBe(false);
    expect(pic.acknowledge()).toBe(0x0f);
    expect(pic.spuriousCount).toBe(1);
    outb(pic.masterIo, 0, 0x0b);
    expect(inb(pic.masterIo, 0)).toBe(0); // no ISR bit for a spurious interrupt
  });

  it('level mode keeps IRR set until the line drops', () => {
    const { pic } = setup();
    outb(pic.elcrIo, 1, 0x08); // IRQ11 level
    expect(inb(pic.elcrIo, 1)).toBe(0x08);
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x73);
    outb(pic.slaveIo, 0, EOI); outb(pic.masterIo, 0, EOI);
    expect(pic.hasInterrupt()).toBe(true); // still asserted
    pic.setIrq(11, false);
    // The master latched the cascade edge; the slave no longer has a request: spurious IRQ15.
    expect(pic.acknowledge()).toBe(0x77);
    expect(pic.spuriousCount).toBe(1);
    outb(pic.masterIo, 0, EOI); // the master did set ISR2 for the cascade
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('ELCR masks edge-only bits', () => {
    const { pic } = setup();
    outb(pic.elcrIo, 0, 0xff);
    outb(pic.elcrIo, 1, 0xff);
    expect(inb(pic.elcrIo, 0)).toBe(0xf8);
    expect(inb(pic.elcrIo, 1)).toBe(0xde);
  });

  it('auto-EOI leaves ISR clear and can rotate', () => {
    const { pic } = setup(0x03);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x09);
    outb(pic.masterIo, 0, 0x0b);
    expect(inb(pic.masterIo, 0)).toBe(0);
    outb(pic.masterIo, 0, 0x80); // rotate in AEOI: set
    pic.setIrq(3, true);
    pic.acknowledge(); // IRQ3 becomes lowest priority
    pic.setIrq(3, false); pic.setIrq(3, true);
    pic.setIrq(6, true);
    expect(pic.acknowledge()).toBe(0x0e); // 6 beats 3 now
  });

  it('rotate on non-specific EOI and set-priority command', () => {
    const { pic } = setup();
    pic.setIrq(0, true);
    pic.acknowledge();
    outb(pic.masterIo, 0, 0xa0); // rotate on non-specific EOI: IRQ0 lowest
    pic.setIrq(0, false); pic.setIrq(0, true);
    pic.setIrq(7, true);
    expect(pic.acknowledge()).toBe(0x0f);
    outb(pic.masterIo, 0, EOI);
    outb(pic.masterIo, 0, 0xc4); // set priority: IRQ4 lowest, IRQ5 highest
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x0d);
  });

  it('special mask mode lets lower-priority requests through while masked level is in service', () => {
    const { pic } = setup();
    pic.setIrq(1, true);
    pic.acknowledge(); // IRQ1 in service
    pic.setIrq(4, true);
    expect(pic.hasInterrupt()).toBe(false);
    outb(pic.masterIo, 1, 0x02); // mask IRQ1
    outb(pic.masterIo, 0, 0x68); // OCW3: set special mask
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x0c);
  });

  it('poll mode returns 0x80|level and acknowledges it', () => {
    const { pic } = setup();
    pic.setIrq(6, true);
    outb(pic.masterIo, 0, 0x0c); // OCW3: poll
    expect(inb(pic.masterIo, 0)).toBe(0x86);
    outb(pic.masterIo, 0, 0x0b);
    expect(inb(pic.masterIo, 0)).toBe(0x40);
    outb(pic.masterIo, 0, 0x0c);
    expect(inb(pic.masterIo, 0)).toBe(0); // nothing left
  });

  it('reads IMR from the data port and IRR by default', () => {
    const { pic } = setup();
    outb(pic.masterIo, 1, 0xb8);
    expect(inb(pic.masterIo, 1)).toBe(0xb8);
    pic.setIrq(3, true);
    outb(pic.masterIo, 0, 0x0a);
    expect(inb(pic.masterIo, 0)).toBe(0x08);
  });

  it('throws for a non-existent IRQ input (board bug)', () => {
    expect(() => new I8259().setIrq(16, true)).toThrow();
  });

  it('random accesses and IRQ activity never throw; acknowledge always yields a byte', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(
        accessArb(3, 2).map((a) => ({ a })),
        fc.record({ irq: fc.integer({ min: 0, max: 15 }), level: fc.boolean() }),
        fc.constant({ ack: true as const }),
      ), { maxLength: 80 }),
      (ops) => {
        const pic = new I8259();
        const handlers = [{ h: pic.masterIo, span: 2 }, { h: pic.slaveIo, span: 2 }, { h: pic.elcrIo, span: 2 }];
        for (const op of ops) {
          if ('a' in op) replay(handlers, [op.a]);
          else if ('irq' in op) pic.setIrq(op.irq, op.level);
          else if (pic.hasInterrupt()) {
            const v = pic.acknowledge();
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThan(256);
          }
        }
        const copy = new I8259();
        expectRoundTrip(pic, copy);
        expect(copy.hasInterrupt()).toBe(pic.hasInterrupt());
      }), { numRuns: 150 });
  });

  it('state round-trip preserves behaviour; bad state is rejected before any change', () => {
    const { pic } = setup();
    pic.setIrq(12, true);
    const copy = new I8259();
    expectRoundTrip(pic, copy);
    expect(copy.hasInterrupt()).toBe(true);
    expect(copy.acknowledge()).toBe(0x74);
    const bad = { ...pic.saveState(), slave: { ...(pic.saveState().slave as object), imr: 999 } };
    const fresh = new I8259();
    const before = JSON.stringify(fresh.saveState());
    expect(() => fresh.loadState(bad)).toThrow(/imr/);
    expect(JSON.stringify(fresh.saveState())).toBe(before);
  });
});

describe('I8259 level mode from ICW1 (LTIM)', () => {
  it('treats every input as level-triggered', () => {
    const pic = new I8259();
    outb(pic.masterIo, 0, 0x19); outb(pic.masterIo, 1, 0x20); outb(pic.masterIo, 1, 0x04); outb(pic.masterIo, 1, 0x01);
    outb(pic.masterIo, 1, 0x00);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x23);
    outb(pic.masterIo, 0, 0x20);
    expect(pic.hasInterrupt()).toBe(true); // still asserted: requested again
    pic.setIrq(3, false);
    expect(pic.hasInterrupt()).toBe(false);
  });
});
