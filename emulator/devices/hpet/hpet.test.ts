import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeIrqLine } from '../../test-support/fakes.js';
import { VirtualClock } from '../../time/clock.js';
import { HPET_EVENT_TIMER_BLOCK_ID } from '../../firmware/acpi/tables.js';
import {
  ENABLE_CNF, Hpet, LEG_RT_CNF, OFS_GCAP_ID, OFS_GEN_CONF, OFS_GINTR_STA, OFS_MAIN_CNT, TN_32MODE, TN_INT_ENB,
  TN_INT_ROUTE_SHIFT, TN_INT_TYPE_LEVEL, TN_TYPE_PERIODIC, TN_VAL_SET,
} from './hpet.js';

function make() {
  const clock = new VirtualClock();
  const irq0 = new FakeIrqLine();
  const irq8 = new FakeIrqLine();
  const pins = Array.from({ length: 24 }, () => new FakeIrqLine());
  const legacy: boolean[] = [];
  const logs: string[] = [];
  const hpet = new Hpet({
    clock, scheduler: clock, legacyIrq0: irq0, legacyIrq8: irq8, ioapicPin: (p) => pins[p],
    onLegacyRouteChange: (on) => legacy.push(on), log: (m) => logs.push(m),
  });
  const rd = (off: number): number => hpet.mmio.read(off, 4);
  const wr = (off: number, v: number): void => hpet.mmio.write(off, 4, v >>> 0);
  const tn = (n: number, reg: number): number => 0x100 + 0x20 * n + reg;
  return { clock, hpet, irq0, irq8, pins, legacy, logs, rd, wr, tn };
}

describe('HPET capabilities and counter (IA-PC HPET 1.0a 2.3)', () => {
  it('reports rev 1, 3 timers, 64-bit, legacy capable, vendor 8086, 10 ns period', () => {
    const { rd, tn } = make();
    expect(rd(OFS_GCAP_ID)).toBe(0x8086a201);
    expect(rd(OFS_GCAP_ID)).toBe(HPET_EVENT_TIMER_BLOCK_ID);
    expect(rd(OFS_GCAP_ID + 4)).toBe(10_000_000);
    for (let n = 0; n < 3; n++) {
      expect(rd(tn(n, 0)) & 0x30).toBe(0x30); // periodic capable, 64-bit capable
      expect(rd(tn(n, 4))).toBe(0x00ff0104);
      expect([rd(tn(n, 8)), rd(tn(n, 12))]).toEqual([0xffffffff, 0xffffffff]);
    }
  });

  it('counts at 100 MHz only while enabled, is writable only while halted', () => {
    const { clock, hpet, rd, wr } = make();
    clock.step(1000);
    expect(rd(OFS_MAIN_CNT)).toBe(0);
    wr(OFS_MAIN_CNT, 0xfffffff0);
    wr(OFS_MAIN_CNT + 4, 1);
    wr(OFS_GEN_CONF, ENABLE_CNF);
    clock.step(1005);
    expect(hpet.counter()).toBe(0x1_ffff_fff0n + 100n);
    expect(rd(OFS_MAIN_CNT)).toBe(0x54); // low dword wrapped
    expect(rd(OFS_MAIN_CNT + 4)).toBe(2);
    wr(OFS_MAIN_CNT, 0);
    expect(hpet.misuseCount).toBe(1);
    wr(OFS_GEN_CONF, 0);
    clock.step(10_000);
    expect(hpet.counter()).toBe(0x2_0000_0054n);
  });
});

describe('HPET timers', () => {
  it('arms its timers when enabled at a fractional virtual time (real-time mode: host-paced ns have fractions)', () => {
    // Linux's periodic tick, as hpet_clkevt_set_state_periodic programs it, enabled at t = 1234.5 ns.
    // A deadline with a fraction was once refused as "not a safe integer": no ticks, the guest hung idle.
    const { clock, irq0, wr, tn } = make();
    clock.advanceTo(1234.5);
    wr(tn(0, 12), 0);
    wr(OFS_GEN_CONF, LEG_RT_CNF);
    wr(tn(0, 0), TN_INT_ENB | TN_TYPE_PERIODIC | TN_VAL_SET | TN_32MODE);
    wr(tn(0, 8), 400_000); // first match 4 ms after the counter starts
    wr(tn(0, 8), 400_000); // period 4 ms
    wr(OFS_GEN_CONF, LEG_RT_CNF | ENABLE_CNF);
    expect(clock.nextDeadlineNs()).toBeLessThan(Infinity);
    clock.advanceTo(1234.5 + 40_000_000 + 1);
    expect(irq0.rising).toBe(10);
  });

  it('fires a one-shot comparator at the match, on the routed IOAPIC pin', () => {
    const { clock, pins, wr, tn } = make();
    wr(tn(2, 0), TN_INT_ENB | (20 << TN_INT_ROUTE_SHIFT));
    wr(tn(2, 8), 1000);
    wr(tn(2, 12), 0);
    wr(OFS_GEN_CONF, ENABLE_CNF);
    clock.step(9_999);
    expect(pins[20]!.rising).toBe(0);
    clock.step(1);
    expect(pins[20]!.rising).toBe(1);
    expect(pins[20]!.level).toBe(false); // edge mode: a pulse
    clock.step(1_000_000);
    expect(pins[20]!.rising).toBe(1);
  });

  it('runs periodic mode with VAL_SET: first match at the comparator, then every period', () => {
    const { clock, pins, rd, wr, tn } = make();
    wr(tn(0, 12), 0); // comparators reset to all ones: clear the upper half first (one-shot mode)
    wr(tn(0, 0), TN_INT_ENB | TN_TYPE_PERIODIC | TN_VAL_SET | (2 << TN_INT_ROUTE_SHIFT));
    wr(tn(0, 8), 500); // comparator and period
    expect(rd(tn(0, 0)) & TN_VAL_SET).toBe(0); // VAL_SET self-clears
    wr(tn(0, 8), 1000); // period only
    wr(OFS_GEN_CONF, ENABLE_CNF);
    clock.step(5_000);
    expect(pins[2]!.rising).toBe(1);
    clock.step(30_000);
    expect(pins[2]!.rising).toBe(4); // 5 us, 15 us, 25 us, 35 us
    expect(rd(tn(0, 8))).toBe(4500);
  });

  it('catches up on missed periods instead of firing a burst', () => {
    const { clock, pins, wr, tn, hpet } = make();
    wr(tn(1, 12), 0);
    wr(tn(1, 0), TN_INT_ENB | TN_TYPE_PERIODIC | TN_VAL_SET | (8 << TN_INT_ROUTE_SHIFT));
    wr(tn(1, 8), 100);
    wr(OFS_GEN_CONF, ENABLE_CNF);
    clock.step(999); // 99 ticks
    clock.step(1); // tick 100: first match
    expect(pins[8]!.rising).toBe(1);
    expect(hpet.counter()).toBe(100n);
  });

  it('routes timers 0 and 1 to IRQ0 and IRQ8 in legacy replacement mode', () => {
    const { clock, irq0, irq8, pins, legacy, wr, tn } = make();
    wr(tn(0, 12), 0);
    wr(tn(0, 0), TN_INT_ENB | TN_TYPE_PERIODIC | TN_VAL_SET);
    wr(tn(0, 8), 100);
    wr(tn(1, 12), 0);
    wr(tn(1, 0), TN_INT_ENB | (16 << TN_INT_ROUTE_SHIFT));
    wr(tn(1, 8), 250);
    wr(OFS_GEN_CONF, ENABLE_CNF | LEG_RT_CNF);
    expect(legacy).toEqual([true]);
    clock.step(3_000);
    expect(irq0.rising).toBe(3);
    expect(irq8.rising).toBe(1);
    expect(pins[16]!.rising).toBe(0);
    expect(pins[0]!.rising).toBe(0);
    wr(OFS_GEN_CONF, ENABLE_CNF);
    expect(legacy).toEqual([true, false]);
  });

  it('holds level interrupts until the status bit is written with 1', () => {
    const { clock, pins, rd, wr, tn } = make();
    wr(tn(2, 0), TN_INT_ENB | TN_INT_TYPE_LEVEL | (23 << TN_INT_ROUTE_SHIFT));
    wr(tn(2, 8), 10);
    wr(tn(2, 12), 0);
    wr(OFS_GEN_CONF, ENABLE_CNF);
    clock.step(100);
    expect(rd(OFS_GINTR_STA)).toBe(0b100);
    expect(pins[23]!.level).toBe(true);
    wr(OFS_GINTR_STA, 0b011); // other bits: no effect
    expect(rd(OFS_GINTR_STA)).toBe(0b100);
    expect(pins[23]!.level).toBe(true);
    wr(OFS_GINTR_STA, 0b100);
    expect(rd(OFS_GINTR_STA)).toBe(0);
    expect(pins[23]!.level).toBe(false);
  });

  it('sets the status bit but raises no line while the timer interrupt is disabled', () => {
    const { clock, pins, rd, wr, tn } = make();
    wr(tn(2, 0), TN_INT_TYPE_LEVEL | (21 << TN_INT_ROUTE_SHIFT));
    wr(tn(2, 8), 10);
    wr(tn(2, 12), 0);
    wr(OFS_GEN_CONF, ENABLE_CNF);
    clock.step(100);
    expect(rd(OFS_GINTR_STA)).toBe(0b100);
    expect(pins[21]!.rising).toBe(0);
    wr(tn(2, 0), TN_INT_ENB | TN_INT_TYPE_LEVEL | (21 << TN_INT_ROUTE_SHIFT));
    expect(pins[21]!.level).toBe(true);
  });

  it('compares only the low 32 bits in 32-bit mode', () => {
    const { clock, pins, rd, wr, tn } = make();
    wr(OFS_MAIN_CNT, 0xfffffff0);
    wr(tn(2, 0), TN_INT_ENB | TN_32MODE | (17 << TN_INT_ROUTE_SHIFT));
    wr(tn(2, 8), 0x10);
    wr(tn(2, 12), 0xdead); // no upper half in 32-bit mode
    expect(rd(tn(2, 12))).toBe(0);
    wr(OFS_GEN_CONF, ENABLE_CNF);
    clock.step(0x1f * 10);
    expect(pins[17]!.rising).toBe(0);
    clock.step(10);
    expect(pins[17]!.rising).toBe(1);
  });

  it('stops timers while halted', () => {
    const { clock, pins, wr, tn } = make();
    wr(tn(2, 0), TN_INT_ENB | (20 << TN_INT_ROUTE_SHIFT));
    wr(tn(2, 8), 100);
    wr(tn(2, 12), 0);
    wr(OFS_GEN_CONF, ENABLE_CNF);
    clock.step(500);
    wr(OFS_GEN_CONF, 0);
    clock.step(10_000);
    expect(pins[20]!.rising).toBe(0);
    wr(OFS_GEN_CONF, ENABLE_CNF);
    clock.step(500);
    expect(pins[20]!.rising).toBe(1);
  });
});

describe('HPET robustness and state', () => {
  const op = fc.record({
    offset: fc.oneof(
      fc.constantFrom(0x000, 0x004, 0x010, 0x020, 0x0f0, 0x0f4, 0x100, 0x108, 0x10c, 0x110, 0x120, 0x128, 0x140, 0x148, 0x14c),
      fc.integer({ min: 0, max: 0x3ff })),
    size: fc.constantFrom<1 | 2 | 4>(4, 4, 4, 1, 2),
    write: fc.boolean(),
    value: fc.oneof(fc.integer({ min: 0, max: 0x7fff }), fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(1, 3, 0x104c, 0x5e)),
    stepNs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50_000 })),
  });

  it('never throws on random MMIO sequences and round-trips its state', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const h = make();
      for (const o of ops) {
        if (o.stepNs) h.clock.step(o.stepNs);
        if (o.write) h.hpet.mmio.write(o.offset, o.size, o.size === 4 ? o.value : o.value & ((1 << (8 * o.size)) - 1));
        else h.hpet.mmio.read(o.offset, o.size);
      }
      const json = JSON.stringify(h.hpet.saveState());
      const fresh = make();
      fresh.clock.advanceTo(h.clock.nowNs());
      fresh.hpet.loadState(JSON.parse(json));
      expect(JSON.stringify(fresh.hpet.saveState())).toBe(json);
    }), { numRuns: 100 });
  });

  it('keeps running after a restore: a periodic timer fires on the restored machine', () => {
    const a = make();
    a.wr(a.tn(0, 12), 0);
    a.wr(a.tn(0, 0), TN_INT_ENB | TN_TYPE_PERIODIC | TN_VAL_SET | (2 << TN_INT_ROUTE_SHIFT));
    a.wr(a.tn(0, 8), 100);
    a.wr(OFS_GEN_CONF, ENABLE_CNF);
    a.clock.step(1_500);
    const b = make();
    b.clock.advanceTo(a.clock.nowNs());
    b.hpet.loadState(JSON.parse(JSON.stringify(a.hpet.saveState())));
    b.clock.step(1_000);
    expect(b.pins[2]!.rising).toBe(1); // match at 2000 ns
    expect(b.hpet.counter()).toBe(250n);
  });

  it('rejects malformed state', () => {
    const { hpet } = make();
    expect(() => hpet.loadState({ v: 1 })).toThrow();
    expect(() => hpet.loadState({ ...hpet.saveState(), counter: 'xyz' })).toThrow();
    expect(() => hpet.loadState({ ...hpet.saveState(), timers: [] })).toThrow();
  });

  it('reset halts the counter and clears the timers', () => {
    const { clock, hpet, rd, wr, tn, legacy } = make();
    wr(OFS_GEN_CONF, ENABLE_CNF | LEG_RT_CNF);
    wr(tn(0, 0), TN_INT_ENB);
    clock.step(100);
    hpet.reset('hard');
    expect(rd(OFS_GEN_CONF)).toBe(0);
    expect(rd(OFS_MAIN_CNT)).toBe(0);
    expect(rd(tn(0, 0)) & 0xffff).toBe(0x30);
    expect(legacy).toEqual([true, false]);
  });
});
