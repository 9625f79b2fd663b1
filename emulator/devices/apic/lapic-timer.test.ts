import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../time/clock.js';
import { InterruptRouter } from './interrupt-router.js';
import {
  APIC_EOI, APIC_LVTT, APIC_TDCR, APIC_TMCCT, APIC_TMICT, LocalApic, MSR_IA32_TSC_DEADLINE, type MsrValue,
} from './lapic.js';
import { makeApics } from './test-harness.js';

const PERIODIC = 1 << 17;
const TSC_DEADLINE = 2 << 17;
const MASKED = 1 << 16;

/** Takes every pending interrupt (acknowledge + EOI), returning the vectors. */
function drain(lapic: LocalApic): number[] {
  const got: number[] = [];
  while (lapic.hasInterrupt()) {
    got.push(lapic.acknowledge());
    lapic.mmio.write(APIC_EOI, 4, 0);
  }
  return got;
}

describe('APIC timer (SDM 11.5.4), 1 count per ns before the divider', () => {
  it('one-shot: counts down by the divider, fires once at initial * divide ns', () => {
    const { clock, lapic, rd, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0x1); // divide by 4
    wr(APIC_LVTT, 0x30);
    wr(APIC_TMICT, 100);
    expect(rd(APIC_TMCCT)).toBe(100);
    clock.step(3);
    expect(rd(APIC_TMCCT)).toBe(100);
    clock.step(1);
    expect(rd(APIC_TMCCT)).toBe(99);
    clock.step(395);
    expect(rd(APIC_TMCCT)).toBe(1);
    expect(drain(lapic)).toEqual([]);
    clock.step(1);
    expect(rd(APIC_TMCCT)).toBe(0);
    expect(drain(lapic)).toEqual([0x30]);
    clock.step(10_000);
    expect(drain(lapic)).toEqual([]);
    expect(rd(APIC_TMICT)).toBe(100);
  });

  it('divide configuration values: 1, 2, 4, ..., 128', () => {
    const { clock, rd, wr } = makeApics();
    const codes: [number, number][] = [[0xb, 1], [0x0, 2], [0x1, 4], [0x2, 8], [0x3, 16], [0x8, 32], [0x9, 64], [0xa, 128]];
    for (const [code, div] of codes) {
      wr(APIC_TDCR, code);
      wr(APIC_TMICT, 1000);
      clock.step(div * 10);
      expect(rd(APIC_TMCCT)).toBe(990);
    }
    wr(APIC_TDCR, 0xffff_ffff);
    expect(rd(APIC_TDCR)).toBe(0xb);
  });

  it('periodic: reloads every initial count, one interrupt per period, exact counts', () => {
    const { clock, lapic, rd, wr, enable, events } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb); // divide by 1
    wr(APIC_LVTT, PERIODIC | 0x40);
    wr(APIC_TMICT, 1000);
    const fired: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.step(999);
      expect(drain(lapic)).toEqual([]);
      clock.step(1);
      expect(rd(APIC_TMCCT)).toBe(1000);
      fired.push(...drain(lapic));
    }
    expect(fired).toEqual([0x40, 0x40, 0x40, 0x40, 0x40]);
    clock.step(250);
    expect(rd(APIC_TMCCT)).toBe(750);
    expect(events.filter((e) => e === 'pending 0').length).toBe(5);
    wr(APIC_TMICT, 0); // stops
    clock.step(5000);
    expect(rd(APIC_TMCCT)).toBe(0);
    expect(drain(lapic)).toEqual([]);
  });

  it('a masked timer keeps counting without interrupts', () => {
    const { clock, lapic, rd, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb);
    wr(APIC_LVTT, MASKED | PERIODIC | 0x40);
    wr(APIC_TMICT, 100);
    clock.step(250);
    expect(rd(APIC_TMCCT)).toBe(50);
    expect(drain(lapic)).toEqual([]);
    wr(APIC_LVTT, PERIODIC | 0x40);
    clock.step(50);
    expect(drain(lapic)).toEqual([0x40]);
  });

  it('changing the divider mid-count continues from the current count', () => {
    const { clock, lapic, rd, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb);
    wr(APIC_LVTT, 0x41);
    wr(APIC_TMICT, 100);
    clock.step(40);
    wr(APIC_TDCR, 0x0); // divide by 2
    expect(rd(APIC_TMCCT)).toBe(60);
    clock.step(119);
    expect(drain(lapic)).toEqual([]);
    clock.step(1);
    expect(drain(lapic)).toEqual([0x41]);
  });

  it('changing the timer mode disarms the timer (SDM 11.5.4.1)', () => {
    const { clock, lapic, rd, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb);
    wr(APIC_LVTT, 0x43);
    wr(APIC_TMICT, 100);
    clock.step(10);
    wr(APIC_LVTT, 0x43 | MASKED); // same mode: keeps counting
    expect(rd(APIC_TMCCT)).toBe(90);
    wr(APIC_LVTT, 0x43 | PERIODIC);
    expect([rd(APIC_TMICT), rd(APIC_TMCCT)]).toEqual([0, 0]);
    clock.step(1000);
    expect(drain(lapic)).toEqual([]);
  });

  it('a late scheduler delivers one interrupt and stays on the period grid', () => {
    const { clock, lapic, rd, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb);
    wr(APIC_LVTT, PERIODIC | 0x42);
    wr(APIC_TMICT, 100);
    clock.step(1050);
    expect(drain(lapic)).toEqual([0x42]);
    expect(rd(APIC_TMCCT)).toBe(50);
    clock.step(50);
    expect(drain(lapic)).toEqual([0x42]);
  });
});

describe('TSC-deadline mode (SDM 11.5.4.1)', () => {
  it('fires when the TSC reaches IA32_TSC_DEADLINE, then clears the MSR', () => {
    const { clock, lapic, rd, wr, enable } = makeApics(); // TSC: 2 ticks per ns
    enable();
    const out: MsrValue = { lo: 0, hi: 0 };
    expect(lapic.writeMsr(MSR_IA32_TSC_DEADLINE, 5000, 0)).toBe(true); // ignored: not in TSC-deadline mode
    lapic.readMsr(MSR_IA32_TSC_DEADLINE, out);
    expect(out).toEqual({ lo: 0, hi: 0 });
    wr(APIC_LVTT, TSC_DEADLINE | 0x50);
    expect(rd(APIC_LVTT)).toBe(TSC_DEADLINE | 0x50);
    wr(APIC_TMICT, 1000); // ignored in TSC-deadline mode
    expect(rd(APIC_TMCCT)).toBe(0);
    clock.step(100); // TSC = 200
    lapic.writeMsr(MSR_IA32_TSC_DEADLINE, 2200, 0); // 1000 ns away
    lapic.readMsr(MSR_IA32_TSC_DEADLINE, out);
    expect(out.lo).toBe(2200);
    clock.step(999);
    expect(drain(lapic)).toEqual([]);
    clock.step(1);
    expect(drain(lapic)).toEqual([0x50]);
    lapic.readMsr(MSR_IA32_TSC_DEADLINE, out);
    expect(out).toEqual({ lo: 0, hi: 0 });
  });

  it('a deadline in the past fires at once; writing 0 disarms; leaving the mode disarms', () => {
    const { clock, lapic, wr, enable } = makeApics();
    enable();
    wr(APIC_LVTT, TSC_DEADLINE | 0x51);
    clock.step(100);
    lapic.writeMsr(MSR_IA32_TSC_DEADLINE, 1, 0);
    expect(drain(lapic)).toEqual([0x51]);
    lapic.writeMsr(MSR_IA32_TSC_DEADLINE, 1000, 0);
    lapic.writeMsr(MSR_IA32_TSC_DEADLINE, 0, 0);
    clock.step(10_000);
    expect(drain(lapic)).toEqual([]);
    lapic.writeMsr(MSR_IA32_TSC_DEADLINE, 30_000, 0);
    wr(APIC_LVTT, 0x51); // one-shot
    clock.step(100_000);
    expect(drain(lapic)).toEqual([]);
  });

  it('is not offered without a TSC source (bit 18 reserved, MSR #GP)', () => {
    const { lapic, rd, wr } = makeApics(1, false);
    wr(APIC_LVTT, TSC_DEADLINE | 0x50);
    expect(rd(APIC_LVTT) & (3 << 17)).toBe(0);
    expect(lapic.writeMsr(MSR_IA32_TSC_DEADLINE, 1, 0)).toBe(false);
    expect(lapic.tscDeadlineSupported).toBe(false);
  });
});

describe('an expiry that is due but not yet delivered survives a reprogramming', () => {
  // Timers fire when the run loop advances the clock; within a CPU chunk, register reads
  // already see later time. A guest that rewrites the timer in that window must still get
  // the interrupt its count already raised (Linux in APIC mode hung in its ATA probe).
  function liveClock(clock: VirtualClock): { move: (ns: number) => void } {
    let live = clock.nowNs();
    clock.setSource(() => live);
    return { move: (ns) => { live += ns; } };
  }

  it('one-shot count ran out, then an LVT timer write of the same mode', () => {
    const { clock, lapic, rd, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb); // divide by 1
    wr(APIC_LVTT, 0xec);
    const t = liveClock(clock);
    wr(APIC_TMICT, 62);
    t.move(100); // past the expiry, no clock advance yet
    expect(rd(APIC_TMCCT)).toBe(0);
    wr(APIC_LVTT, 0xec);
    expect(drain(lapic)).toEqual([0xec]);
    clock.advanceTo(clock.nowNs());
    expect(drain(lapic)).toEqual([]); // delivered once
  });

  it('one-shot count ran out, then a new initial count or divider', () => {
    const { clock, lapic, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb);
    wr(APIC_LVTT, 0x40);
    const t = liveClock(clock);
    wr(APIC_TMICT, 10);
    t.move(20);
    wr(APIC_TMICT, 1000);
    expect(drain(lapic)).toEqual([0x40]);
    wr(APIC_TMICT, 10);
    t.move(20);
    wr(APIC_TDCR, 0x0);
    expect(drain(lapic)).toEqual([0x40]);
  });

  it('a due TSC deadline, then a new deadline', () => {
    const { clock, lapic, wr, enable } = makeApics();
    enable();
    wr(APIC_LVTT, TSC_DEADLINE | 0x50);
    const t = liveClock(clock);
    lapic.writeMsr(MSR_IA32_TSC_DEADLINE, clock.nowNs() * 2 + 200, 0); // 100 ns away (TSC at 2 GHz)
    t.move(150);
    lapic.writeMsr(MSR_IA32_TSC_DEADLINE, clock.nowNs() * 2 + 1_000_000, 0);
    expect(drain(lapic)).toEqual([0x50]);
  });

  it('a tiny one-shot count that ran out while the write was being handled still fires', () => {
    // Host-paced time moves between the two clock reads of a TMICT write; with TMICT=62
    // (Linux's "as soon as possible") the count was spent before it was armed.
    const { clock, lapic, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb);
    wr(APIC_LVTT, 0xec);
    let live = clock.nowNs();
    clock.setSource(() => (live += 400)); // every read of the clock is 400 ns later
    wr(APIC_TMICT, 1);
    clock.setSource(undefined);
    clock.advanceTo(live + 1000);
    expect(drain(lapic)).toEqual([0xec]);
  });

  it('a one-shot count running out during a divider change is delivered once', () => {
    const { clock, lapic, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb);
    wr(APIC_LVTT, 0xec);
    let live = clock.nowNs();
    clock.setSource(() => live);
    wr(APIC_TMICT, 3);
    clock.setSource(() => (live += 2)); // runs out between the catch-up and the rebase
    wr(APIC_TDCR, 0x0);
    clock.setSource(undefined);
    clock.advanceTo(live + 10_000);
    expect(drain(lapic)).toEqual([0xec]);
  });

  it('a count still running is simply reprogrammed', () => {
    const { clock, lapic, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0xb);
    wr(APIC_LVTT, 0x40);
    const t = liveClock(clock);
    wr(APIC_TMICT, 100);
    t.move(50);
    wr(APIC_TMICT, 100);
    expect(drain(lapic)).toEqual([]);
  });
});

describe('timer state across save/load', () => {
  function fresh(): { clock: VirtualClock; lapic: LocalApic } {
    const clock = new VirtualClock();
    const router = new InterruptRouter({ onNmi: () => {}, onInterruptPending: () => {} });
    const lapic = new LocalApic({ apicId: 0, bsp: true, clock, scheduler: clock, bus: router, tsc: { read: () => clock.nowNs() * 2, hz: 2e9 } });
    router.addLapic(lapic);
    return { clock, lapic };
  }

  it('re-arms a periodic counter relative to the new clock, mid-count', () => {
    const { clock, lapic, wr, enable } = makeApics();
    enable();
    wr(APIC_TDCR, 0x1); // /4
    wr(APIC_LVTT, PERIODIC | 0x60);
    wr(APIC_TMICT, 10);
    clock.step(57); // 14 counts + 1 ns: current 6, 1 ns into the count
    expect(drain(lapic)).toEqual([0x60]);
    const json = JSON.stringify(lapic.saveState());
    const b = fresh();
    b.clock.step(1_000_000); // a different absolute time
    b.lapic.loadState(JSON.parse(json));
    expect(JSON.stringify(b.lapic.saveState())).toBe(json);
    expect(b.lapic.currentCount()).toBe(6);
    b.clock.step(22);
    expect(drain(b.lapic)).toEqual([]);
    b.clock.step(1);
    expect(drain(b.lapic)).toEqual([0x60]);
    expect(b.lapic.currentCount()).toBe(10);
  });

  it('re-arms a TSC deadline relative to the new clock', () => {
    const { clock, lapic, wr, enable } = makeApics();
    enable();
    wr(APIC_LVTT, TSC_DEADLINE | 0x61);
    lapic.writeMsr(MSR_IA32_TSC_DEADLINE, 1000, 0); // 500 ns
    clock.step(200);
    const json = JSON.stringify(lapic.saveState());
    const b = fresh();
    b.clock.step(77);
    b.lapic.loadState(JSON.parse(json));
    expect(JSON.stringify(b.lapic.saveState())).toBe(json);
    b.clock.step(299);
    expect(drain(b.lapic)).toEqual([]);
    b.clock.step(1);
    expect(drain(b.lapic)).toEqual([0x61]);
  });
});
