import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { I8254 } from './i8254.js';
import { Port61 } from './port61.js';
import { nsToTicks, ticksToNs } from './pit-channel.js';
import { VirtualClock } from '../../time/clock.js';
import { FakeIrqLine, inb, outb } from '../../test-support/fakes.js';
import { accessArb, expectRoundTrip, replay } from '../../test-support/device-harness.js';

function setup() {
  const clock = new VirtualClock();
  const irq = new FakeIrqLine();
  const pit = new I8254({ irq, clock, scheduler: clock });
  const port61 = new Port61({ pit, clock });
  return { clock, irq, pit, port61 };
}
const CTRL = 3;
/** Ticks of the 1.193182 MHz clock in `ns` (the test's own arithmetic, for readable expectations). */
const ticks = (ns: number) => Math.floor((ns * 1193182) / 1e9);

function readCount(pit: I8254, ch: number): number {
  outb(pit.io, CTRL, ch << 6); // counter latch
  return inb(pit.io, ch) | (inb(pit.io, ch) << 8);
}

describe('tick conversions', () => {
  it('nsToTicks/ticksToNs agree, also far from zero', () => {
    for (const t of [0, 1, 1193, 1193182, 1193183, 123456789012]) {
      const ns = ticksToNs(t);
      expect(nsToTicks(ns)).toBeGreaterThanOrEqual(t);
      expect(nsToTicks(ns - 1)).toBeLessThan(t);
    }
  });
});

describe('I8254', () => {
  it('powers on with counter 0 in mode 3 at 18.2 Hz', () => {
    const { clock, irq, pit } = setup();
    expect(irq.level).toBe(true);
    const r = irq.rising;
    clock.step(1_000_000_000);
    expect(irq.rising - r).toBe(18); // 65536 ticks = 54.925 ms
    expect(pit.channelInfo(0)).toMatchObject({ mode: 3, count: 0x10000 });
  });

  it('mode 2 rate generator: one IRQ0 edge per period, computed from virtual time', () => {
    const { clock, irq, pit } = setup();
    outb(pit.io, CTRL, 0x34); // counter 0, LSB+MSB, mode 2
    outb(pit.io, 0, 1193 & 0xff);
    outb(pit.io, 0, 1193 >> 8);
    const before = irq.rising;
    clock.step(10_000_000);
    expect(irq.rising - before).toBe(10);
    // Count read back matches elapsed ticks.
    const d = ticks(clock.nowNs());
    expect(readCount(pit, 0)).toBe(1193 - (d % 1193));
  });

  it('mode 0 interrupt on terminal count: OUT low, then high once', () => {
    const { clock, irq, pit } = setup();
    outb(pit.io, CTRL, 0x30);
    expect(irq.level).toBe(false);
    outb(pit.io, 0, 100);
    outb(pit.io, 0, 0);
    const r = irq.rising;
    clock.step(ticksToNs(99));
    expect(irq.level).toBe(false);
    clock.step(ticksToNs(2));
    expect(irq.level).toBe(true);
    clock.step(100_000_000);
    expect(irq.rising).toBe(r + 1);
    // After terminal count the counter keeps wrapping downwards.
    expect(readCount(pit, 0)).toBe((100 - ticks(clock.nowNs())) & 0xffff);
    // Writing the first byte of a new count stops counting and drops OUT.
    outb(pit.io, 0, 50);
    expect(irq.level).toBe(false);
    outb(pit.io, 0, 0);
    clock.step(ticksToNs(51));
    expect(irq.level).toBe(true);
  });

  it('counter latch holds the value until both bytes are read', () => {
    const { clock, pit } = setup();
    outb(pit.io, CTRL, 0x74); // counter 1, LSB+MSB, mode 2
    outb(pit.io, 1, 0x00);
    outb(pit.io, 1, 0x10); // 0x1000
    clock.step(ticksToNs(0x10));
    outb(pit.io, CTRL, 0x40); // latch counter 1
    clock.step(ticksToNs(0x100));
    outb(pit.io, CTRL, 0x40); // ignored: already latched
    expect(inb(pit.io, 1)).toBe(0xf0);
    expect(inb(pit.io, 1)).toBe(0x0f);
    // Unlatched read now reflects the later time.
    expect(inb(pit.io, 1) | (inb(pit.io, 1) << 8)).toBe(0x1000 - 0x110);
  });

  it('LSB-only and MSB-only access', () => {
    const { clock, pit } = setup();
    outb(pit.io, CTRL, 0x90); // counter 2, LSB only, mode 0
    outb(pit.io, 2, 0x50);
    clock.step(ticksToNs(0x10));
    outb(pit.io, CTRL, 0x80); // counter 2 latch (RW = LSB -> one byte)
    expect(inb(pit.io, 2)).toBe(0x50); // gate 2 is low at power-on: frozen
    outb(pit.io, CTRL, 0xa0); // counter 2, MSB only, mode 0
    outb(pit.io, 2, 0x12);
    expect(inb(pit.io, 2)).toBe(0x12);
  });

  it('read-back command latches status and count', () => {
    const { clock, pit } = setup();
    outb(pit.io, CTRL, 0x36); // counter 0 mode 3
    outb(pit.io, CTRL, 0xe2); // read-back status only, counter 0
    expect(inb(pit.io, 0)).toBe(0x40 | 0x80 | 0x30 | 0x06); // null count, OUT high, RW 3, mode 3
    outb(pit.io, 0, 0x00);
    outb(pit.io, 0, 0x01);
    clock.step(ticksToNs(0x10));
    outb(pit.io, CTRL, 0xc2); // status and count
    expect(inb(pit.io, 0) & 0x40).toBe(0); // count loaded
    const lo = inb(pit.io, 0);
    const hi = inb(pit.io, 0);
    expect((hi << 8) | lo).toBe(0x100 - 0x20); // mode 3 counts by two
  });

  it('BCD counting', () => {
    const { clock, pit } = setup();
    outb(pit.io, CTRL, 0x71); // counter 1, LSB+MSB, mode 0, BCD
    outb(pit.io, 1, 0x00);
    outb(pit.io, 1, 0x10); // 1000 decimal
    clock.step(ticksToNs(1));
    expect(readCount(pit, 1)).toBe(0x0999);
  });

  it('counter 2 gate and OUT on port 0x61; gate low pauses mode 0', () => {
    const { clock, pit, port61 } = setup();
    outb(pit.io, CTRL, 0xb0); // counter 2 mode 0
    outb(pit.io, 2, 50);
    outb(pit.io, 2, 0);
    clock.step(ticksToNs(100));
    expect(inb(port61.io, 0) & 0x20).toBe(0); // gate low: no counting
    outb(port61.io, 0, 0x01);
    expect(inb(port61.io, 0) & 0x01).toBe(1);
    clock.step(ticksToNs(30));
    outb(port61.io, 0, 0x00); // pause
    clock.step(ticksToNs(100));
    expect(inb(port61.io, 0) & 0x20).toBe(0);
    outb(port61.io, 0, 0x01);
    clock.step(ticksToNs(25));
    expect(inb(port61.io, 0) & 0x20).toBe(0x20);
  });

  it('mode 3 on counter 2: OUT is a square wave', () => {
    const { clock, pit, port61 } = setup();
    outb(port61.io, 0, 0x03);
    expect(port61.speakerEnabled).toBe(true);
    outb(pit.io, CTRL, 0xb6);
    outb(pit.io, 2, 100);
    outb(pit.io, 2, 0);
    const samples: number[] = [];
    for (let i = 0; i < 4; i++) {
      samples.push((inb(port61.io, 0) >> 5) & 1);
      clock.step(ticksToNs(50));
    }
    expect(samples).toEqual([1, 0, 1, 0]);
  });

  it('mode 1 one-shot is triggered by a gate rising edge', () => {
    const { clock, pit, port61 } = setup();
    outb(pit.io, CTRL, 0xb2); // counter 2 mode 1
    outb(pit.io, 2, 10);
    outb(pit.io, 2, 0);
    clock.step(ticksToNs(50));
    expect(pit.output(2)).toBe(true);
    outb(port61.io, 0, 0x01); // trigger
    expect(pit.output(2)).toBe(false);
    clock.step(ticksToNs(11));
    expect(pit.output(2)).toBe(true);
  });

  it('mode 4 software strobe gives one IRQ0 edge', () => {
    const { clock, irq, pit } = setup();
    outb(pit.io, CTRL, 0x38);
    outb(pit.io, 0, 20);
    const r = irq.rising;
    outb(pit.io, 0, 0);
    clock.step(50_000_000);
    expect(irq.rising).toBe(r + 1);
  });

  it('refresh toggle flips with virtual time only', () => {
    const { clock, port61 } = setup();
    const a = inb(port61.io, 0) & 0x10;
    expect(inb(port61.io, 0) & 0x10).toBe(a);
    clock.step(15_085);
    expect(inb(port61.io, 0) & 0x10).not.toBe(a);
  });

  it('random accesses with time steps never throw; state round-trips', () => {
    fc.assert(fc.property(fc.array(accessArb(2, 4, 5_000_000), { maxLength: 60 }), (seq) => {
      const { clock, irq, pit, port61 } = setup();
      replay([{ h: pit.io, span: 4 }, { h: port61.io, span: 1 }], seq, (ns) => clock.step(ns));
      const c2 = new VirtualClock();
      c2.advanceTo(clock.nowNs());
      const copy = new I8254({ irq: new FakeIrqLine(), clock: c2, scheduler: c2 });
      expectRoundTrip(pit, copy);
      expectRoundTrip(port61, new Port61({ pit: copy, clock: c2 }));
      // The copy behaves the same from here on.
      for (let i = 0; i < 3; i++) {
        clock.step(700_000); c2.step(700_000);
        expect(copy.channelInfo(0)).toEqual(pit.channelInfo(0));
        expect(copy.output(2)).toBe(pit.output(2));
      }
      expect(typeof irq.level).toBe('boolean');
    }), { numRuns: 100 });
  });

  it('rejects bad state before changing anything', () => {
    const { pit } = setup();
    const good = pit.saveState();
    const bad = { ...good, channels: [{ ...(good.channels as object[])[0], mode: 9 }, ...(good.channels as object[]).slice(1)] };
    expect(() => pit.loadState(bad)).toThrow(/mode/);
    expect(JSON.stringify(pit.saveState())).toBe(JSON.stringify(good));
  });
});
