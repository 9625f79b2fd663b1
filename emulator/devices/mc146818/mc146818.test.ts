import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Mc146818, REG_B_24H, REG_B_AIE, REG_B_DM, REG_B_PIE, REG_B_SET, REG_B_UIE } from './mc146818.js';
import { setBootOrder, setEquipment, setMemorySize } from './cmos-layout.js';
import { VirtualClock } from '../../time/clock.js';
import { FakeIrqLine, inb, outb } from '../../test-support/fakes.js';
import { accessArb, expectRoundTrip, replay } from '../../test-support/device-harness.js';

const START = Date.UTC(2026, 10, 24, 5, 53, 12); // Tuesday
const S = 1_000_000_000;

function setup(startTimeMs = START) {
  const clock = new VirtualClock();
  const irq = new FakeIrqLine();
  const masks: boolean[] = [];
  const rtc = new Mc146818({ irq, clock, scheduler: clock, startTimeMs, onNmiMask: (m) => masks.push(m) });
  const rd = (i: number) => { outb(rtc.io, 0, i); return inb(rtc.io, 1); };
  const wr = (i: number, v: number) => { outb(rtc.io, 0, i); outb(rtc.io, 1, v); };
  return { clock, irq, rtc, rd, wr, masks };
}

describe('Mc146818', () => {
  it('reports the start time in BCD 24-hour mode, century at 0x32', () => {
    const { rd } = setup();
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map(rd)).toEqual([0x12, 0x53, 0x05, 0x03, 0x24, 0x11, 0x26, 0x20]);
    expect(rd(0x0d)).toBe(0x80);
  });

  it('advances with virtual time only', () => {
    const { clock, rd } = setup();
    clock.step(61 * S);
    expect(rd(0)).toBe(0x13);
    expect(rd(2)).toBe(0x54);
    clock.step(18 * 3600 * S + 7 * 60 * S); // crosses midnight into Wednesday 25th
    expect(rd(7)).toBe(0x25);
    expect(rd(6)).toBe(0x04);
  });

  it('binary and 12-hour modes', () => {
    const { clock, rd, wr } = setup();
    wr(0x0b, REG_B_DM);
    expect(rd(4)).toBe(5);
    expect(rd(9)).toBe(26);
    clock.step(12 * 3600 * S);
    expect(rd(4)).toBe(0x85); // 5 PM
    wr(0x0b, REG_B_DM | REG_B_24H);
    expect(rd(4)).toBe(17);
  });

  it('SET stops the clock; the written time runs from SET release', () => {
    const { clock, rd, wr } = setup();
    wr(0x0b, REG_B_24H | REG_B_SET);
    wr(0, 0x00); wr(2, 0x30); wr(4, 0x23); wr(7, 0x31); wr(8, 0x12); wr(9, 0x99); wr(0x32, 0x19);
    clock.step(5 * S);
    expect(rd(0)).toBe(0x00); // stopped
    wr(0x0b, REG_B_24H);
    clock.step(30 * 60 * S);
    expect([rd(0), rd(2), rd(4), rd(7), rd(8), rd(9), rd(0x32)]).toEqual([0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x20]);
  });

  it('writing a time register while running sets the time at once', () => {
    const { rtc, rd, wr } = setup();
    wr(2, 0x00);
    expect(rd(2)).toBe(0x00);
    expect(rd(4)).toBe(0x05);
    expect(rtc.guestTimeMs()).toBe(Date.UTC(2026, 10, 24, 5, 0, 12));
  });

  it('periodic interrupt at 1024 Hz; register C read clears it', () => {
    const { clock, irq, rd, wr } = setup();
    wr(0x0a, 0x26);
    wr(0x0b, REG_B_24H | REG_B_PIE);
    let n = 0;
    for (let t = 0; t < 100; t++) {
      clock.step(Math.ceil(S / 1024));
      if (irq.level) { n++; expect(rd(0x0c) & 0xc0).toBe(0xc0); }
      expect(irq.level).toBe(false);
    }
    expect(n).toBe(100);
    wr(0x0b, REG_B_24H);
    clock.step(S);
    expect(irq.level).toBe(false);
  });

  it('update-ended interrupt once per second', () => {
    const { clock, irq, rd, wr } = setup();
    wr(0x0b, REG_B_24H | REG_B_UIE);
    clock.step(S / 2);
    expect(irq.level).toBe(false);
    clock.step(S / 2);
    expect(irq.level).toBe(true);
    expect(rd(0x0c)).toBe(0x90);
    clock.step(S);
    expect(irq.rising).toBe(2);
  });

  it('alarm interrupt with a don\'t-care hour', () => {
    const { clock, irq, rd, wr } = setup();
    wr(1, 0x17); wr(3, 0x53); wr(5, 0xc0);
    wr(0x0b, REG_B_24H | REG_B_AIE);
    clock.step(4 * S);
    expect(irq.level).toBe(false);
    clock.step(S);
    expect(irq.level).toBe(true);
    expect(rd(0x0c) & 0xa0).toBe(0xa0);
  });

  it('UF and AF are set lazily without interrupts enabled', () => {
    const { clock, irq, rd, wr } = setup();
    wr(1, 0x20); wr(3, 0xff); wr(5, 0xff);
    rd(0x0c);
    clock.step(10 * S);
    expect(rd(0x0c)).toBe(0x30);
    expect(irq.rising).toBe(0);
  });

  it('UIP is set in the 244 us before an update', () => {
    const { clock, rd } = setup();
    clock.step(S - 100_000);
    expect(rd(0x0a) & 0x80).toBe(0x80);
    clock.step(200_000);
    expect(rd(0x0a) & 0x80).toBe(0);
  });

  it('divider reset stops time; release delays the first update by 500 ms', () => {
    const { clock, rd, wr } = setup();
    wr(0x0a, 0x76);
    clock.step(10 * S);
    expect(rd(0)).toBe(0x12);
    wr(0x0a, 0x26);
    clock.step(S / 2 - 1000);
    expect(rd(0)).toBe(0x12);
    clock.step(2000);
    expect(rd(0)).toBe(0x13);
  });

  it('index port bit 7 masks NMI; reads of 0x70 are 0xff; CMOS RAM is plain storage', () => {
    const { rtc, rd, wr, masks } = setup();
    outb(rtc.io, 0, 0x8f);
    expect(rtc.nmiMasked).toBe(true);
    outb(rtc.io, 0, 0x0f);
    expect(masks).toEqual([true, false]);
    expect(inb(rtc.io, 0)).toBe(0xff);
    wr(0x40, 0x5a);
    expect(rd(0x40)).toBe(0x5a);
    wr(0x0d, 0);
    expect(rtc.readOnlyWrites).toBe(1);
  });

  it('board helpers write memory size, equipment and boot order like QEMU', () => {
    const { rtc } = setup();
    setMemorySize(rtc, { belowFourGiB: 512 * 1024 * 1024, aboveFourGiB: 1024 * 1024 * 1024 });
    expect([0x15, 0x16].map((i) => rtc.getByte(i))).toEqual([0x80, 0x02]);
    expect([0x17, 0x18, 0x30, 0x31].map((i) => rtc.getByte(i))).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect([0x34, 0x35].map((i) => rtc.getByte(i))).toEqual([0x00, 0x1f]);
    expect([0x5b, 0x5c, 0x5d].map((i) => rtc.getByte(i))).toEqual([0x00, 0x40, 0x00]);
    setMemorySize(rtc, { belowFourGiB: 8 * 1024 * 1024, aboveFourGiB: 0 });
    expect([0x17, 0x18, 0x34].map((i) => rtc.getByte(i))).toEqual([0x00, 0x1c, 0x00]);
    setEquipment(rtc, { floppies: 1 });
    expect(rtc.getByte(0x14)).toBe(0x03);
    expect(rtc.getByte(0x10)).toBe(0x40);
    setBootOrder(rtc, ['cdrom', 'disk', 'network'], false);
    expect(rtc.getByte(0x3d)).toBe(0x23);
    expect(rtc.getByte(0x38)).toBe(0x41);
    expect(() => rtc.setByte(128, 0)).toThrow();
  });

  it('power-on reset restarts at the start time; hard reset keeps time', () => {
    const { clock, rtc, rd, wr } = setup();
    clock.step(3 * S);
    wr(0x0b, REG_B_24H | REG_B_PIE);
    rtc.reset('hard');
    expect(rd(0x0b)).toBe(REG_B_24H);
    expect(rd(0)).toBe(0x15);
    rtc.reset('power-on');
    expect(rd(0)).toBe(0x12);
  });

  it('random accesses with time steps never throw; state round-trips and keeps running', () => {
    fc.assert(fc.property(fc.array(accessArb(1, 2, 400_000_000), { maxLength: 60 }), (seq) => {
      const { clock, rtc } = setup();
      replay([{ h: rtc.io, span: 2 }], seq, (ns) => clock.step(ns));
      const c2 = new VirtualClock();
      c2.advanceTo(clock.nowNs());
      const copy = new Mc146818({ irq: new FakeIrqLine(), clock: c2, scheduler: c2, startTimeMs: 0 });
      expectRoundTrip(rtc, copy);
      clock.step(3 * S); c2.step(3 * S);
      expect(copy.guestTimeMs()).toBe(rtc.guestTimeMs());
    }), { numRuns: 100 });
  });

  it('rejects bad state untouched', () => {
    const { rtc } = setup();
    const good = JSON.stringify(rtc.saveState());
    expect(() => rtc.loadState({ ...rtc.saveState(), cmos: [1, 2, 3] })).toThrow(/cmos/);
    expect(JSON.stringify(rtc.saveState())).toBe(good);
  });
});
