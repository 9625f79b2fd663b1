/**
 * Test harness for the local APIC and the router (tests only): a VirtualClock, a router
 * that records every callback, a fake TSC running at 2 GHz of virtual time, a fake
 * I/O APIC EOI sink, and register helpers.
 */
import { VirtualClock } from '../../time/clock.js';
import type { InterruptSource } from '../../cpu/backend.js';
import { InterruptRouter } from './interrupt-router.js';
import { LocalApic } from './lapic.js';

/** TSC rate of the fake TSC (ticks per second). */
export const TEST_TSC_HZ = 2_000_000_000;

/** A fake 8259: a pending vector or none. */
export class FakePic implements InterruptSource {
  pending: number | undefined;
  acks = 0;
  hasInterrupt(): boolean {
    return this.pending !== undefined;
  }
  acknowledge(): number {
    this.acks++;
    const v = this.pending ?? 0x0f;
    this.pending = undefined;
    return v;
  }
}

/** Everything a test needs; `cpus` APICs with IDs 0..cpus-1 (the first is the BSP). */
export function makeApics(cpus = 1, withTsc = true) {
  const clock = new VirtualClock();
  const events: string[] = [];
  const eois: number[] = [];
  const bases: [number, boolean][] = [];
  const logs: string[] = [];
  const pic = new FakePic();
  const router = new InterruptRouter({
    pic,
    onNmi: (id) => events.push(`nmi ${id}`),
    onInit: (id) => events.push(`init ${id}`),
    onStartup: (id, v) => events.push(`sipi ${id} ${v.toString(16)}`),
    onSmi: (id) => events.push(`smi ${id}`),
    onInterruptPending: (id) => events.push(`pending ${id}`),
    log: (m) => logs.push(m),
  });
  const tsc = { read: () => clock.nowNs() * 2, hz: TEST_TSC_HZ };
  const apics: LocalApic[] = [];
  for (let i = 0; i < cpus; i++) {
    const a = new LocalApic({
      apicId: i, bsp: i === 0, clock, scheduler: clock, bus: router,
      eoiBroadcast: (v) => eois.push(v), tsc: withTsc ? tsc : undefined,
      onBaseChange: (gpa, en) => bases.push([gpa, en]), log: (m) => logs.push(m),
    });
    router.addLapic(a);
    apics.push(a);
  }
  const lapic = apics[0]!;
  const rd = (off: number, a = lapic): number => a.mmio.read(off, 4);
  const wr = (off: number, v: number, a = lapic): void => a.mmio.write(off, 4, v >>> 0);
  /** Software-enables `a` with spurious vector 0xff. */
  const enable = (a = lapic): void => wr(0xf0, 0x1ff, a);
  return { clock, events, eois, bases, logs, pic, router, apics, lapic, rd, wr, enable, tsc };
}
