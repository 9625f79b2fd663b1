import { describe, expect, it } from 'vitest';
import { Ioapic } from '../ioapic/ioapic.js';
import { InterruptRouter } from './interrupt-router.js';
import {
  APIC_DFR, APIC_EOI, APIC_ESR, APIC_ICR, APIC_ICR2, APIC_ID, APIC_LDR, APIC_LVT0, APIC_TASKPRI, MSR_IA32_APIC_BASE,
} from './lapic.js';
import { makeApics } from './test-harness.js';

/** ICR low dword: vector, delivery mode, logical, level assert, trigger level, shorthand. */
function icr(vector: number, mode: number, opts: { logical?: boolean; deassert?: boolean; level?: boolean; shorthand?: number } = {}): number {
  return vector | (mode << 8) | (opts.logical ? 1 << 11 : 0) | (opts.deassert ? 0 : 1 << 14) |
    (opts.level ? 1 << 15 : 0) | ((opts.shorthand ?? 0) << 18);
}

describe('IPIs through the ICR (SDM 11.6.1)', () => {
  it('self-IPI lands in the own IRR and reports a pending interrupt', () => {
    const { router, wr, rd, enable, events } = makeApics();
    enable();
    wr(APIC_ICR, icr(0x33, 0, { shorthand: 1 }));
    expect(rd(APIC_ICR)).toBe(icr(0x33, 0, { shorthand: 1 })); // delivery status idle
    expect(events).toEqual(['pending 0']);
    expect(router.hasInterrupt()).toBe(true);
    expect(router.acknowledge()).toBe(0x33);
  });

  it('NMI to self or by physical ID calls onNmi; SMI is reported, not delivered', () => {
    const { wr, enable, events } = makeApics();
    enable();
    wr(APIC_ICR2, 0);
    wr(APIC_ICR, icr(0, 4));
    wr(APIC_ICR, icr(0, 2));
    wr(APIC_ICR, icr(0, 4, { shorthand: 1 })); // self shorthand is Fixed only: dropped
    expect(events).toEqual(['nmi 0', 'smi 0']);
  });

  it('INIT and STARTUP reach the target CPU; INIT level de-assert is a no-op', () => {
    const { wr, rd, enable, events, apics } = makeApics(2);
    enable();
    enable(apics[1]);
    wr(APIC_TASKPRI, 0x20, apics[1]);
    wr(APIC_ICR2, 0x0100_0000);
    wr(APIC_ICR, icr(0, 5, { level: true }));
    expect(rd(APIC_TASKPRI, apics[1])).toBe(0); // INIT reset the AP's APIC
    expect(rd(APIC_ID, apics[1])).toBe(0x0100_0000);
    wr(APIC_ICR, icr(0, 5, { level: true, deassert: true, shorthand: 2 }));
    wr(APIC_ICR, icr(0x9a, 6));
    wr(APIC_ICR, icr(0x9a, 6, { shorthand: 3 }));
    expect(events).toEqual(['init 1', 'sipi 1 9a', 'sipi 1 9a']);
  });

  it('illegal vectors set Send Illegal Vector; unmatched destinations are counted', () => {
    const { router, wr, rd, enable } = makeApics();
    enable();
    wr(APIC_ICR, icr(0x0f, 0, { shorthand: 1 }));
    wr(APIC_ESR, 0);
    expect(rd(APIC_ESR)).toBe(0x20);
    wr(APIC_ICR2, 0x0700_0000);
    wr(APIC_ICR, icr(0x40, 0));
    expect(router.unroutedCount).toBe(1);
  });

  it('lowest priority picks the APIC with the lowest arbitration priority', () => {
    const { router, wr, enable, apics } = makeApics(2);
    for (const a of apics) { enable(a); wr(APIC_LDR, 0x0100_0000 << apics.indexOf(a), a); }
    wr(APIC_TASKPRI, 0x80, apics[0]);
    router.deliverMsi(0xfee0_3004, 0x0100 | 0x45); // logical dest 0b11, lowest priority
    expect(apics[0]!.bits(0x45).irr).toBe(false);
    expect(apics[1]!.bits(0x45).irr).toBe(true);
  });

  it('logical cluster broadcast reaches every member; all-excluding-self skips the sender', () => {
    const { wr, enable, apics } = makeApics(3);
    apics.forEach((a, i) => { enable(a); wr(APIC_DFR, 0x0fff_ffff, a); wr(APIC_LDR, (0x10 | (1 << i)) << 24, a); });
    wr(APIC_ICR2, 0xf5_000000);
    wr(APIC_ICR, icr(0x70, 0, { logical: true }));
    expect(apics.map((a) => a.bits(0x70).irr)).toEqual([true, false, true]);
    wr(APIC_ICR, icr(0x71, 0, { shorthand: 3 }));
    expect(apics.map((a) => a.bits(0x71).irr)).toEqual([false, true, true]);
    expect(() => makeApics(1).router.cpu(1)).toThrow();
  });
});

describe('MSI (SDM 11.11)', () => {
  it('decodes destination ID 19:12, DM bit 2, vector, delivery mode and trigger', () => {
    const { router, wr, enable, apics, events } = makeApics(2);
    enable(apics[0]); enable(apics[1]);
    router.deliverMsi(0xfee0_1000, 0x0000_0061); // physical 1, fixed, edge
    expect(apics[1]!.bits(0x61)).toEqual({ irr: true, isr: false, tmr: false });
    router.deliverMsi(0xfee0_1000, 0x0000_c062); // level, assert
    expect(apics[1]!.bits(0x62).tmr).toBe(true);
    router.deliverMsi(0xfee0_1000, 0x0000_8063); // level de-assert: nothing
    expect(apics[1]!.bits(0x63).irr).toBe(false);
    wr(APIC_LDR, 0x0200_0000, apics[0]);
    router.deliverMsi(0xfee0_200c, 0x64); // logical 0x02, RH set
    expect(apics[0]!.bits(0x64).irr).toBe(true);
    router.deliverMsi(0xfee0_0000, 0x400); // NMI to APIC 0
    expect(events).toContain('nmi 0');
    router.deliverMsi(0xfed0_0000, 0x65);
    expect(router.misuseCount).toBe(1);
  });
});

describe('I/O APIC and 8259 routing', () => {
  it('level-triggered IOAPIC pin: delivered, EOI broadcast clears Remote IRR and re-delivers while asserted', () => {
    const { router, lapic, wr, enable, eois } = makeApics();
    const ioapic = new Ioapic({ deliver: (m) => router.deliverFromIoapic(m) });
    /** EOI as the board wires it: the local APIC's broadcast goes to ioapic.eoi. */
    const eoi = (): void => { const n = eois.length; wr(APIC_EOI, 0); if (eois.length > n) ioapic.eoi(eois[n]!); };
    enable();
    ioapic.writeRegister(0x10 + 2 * 9, 0x8000 | 0x59); // pin 9: level, fixed, physical 0
    ioapic.writeRegister(0x11 + 2 * 9, 0);
    ioapic.setIrq(9, true);
    expect(router.acknowledge()).toBe(0x59);
    expect(lapic.bits(0x59).tmr).toBe(true);
    eoi();
    expect(eois).toEqual([0x59]);
    expect(lapic.bits(0x59).irr).toBe(true); // still asserted: re-delivered
    ioapic.setIrq(9, false);
    expect(router.acknowledge()).toBe(0x59);
    eoi();
    expect(router.hasInterrupt()).toBe(false);
    expect(ioapic.entry(9)[0] & (1 << 14)).toBe(0);
  });

  it('virtual wire: PIC INTR passes through LINT0 ExtINT (acknowledged at the PIC), LAPIC first', () => {
    const { router, pic, wr, enable, events } = makeApics();
    pic.pending = 0x08;
    router.setPicIntr(true);
    expect(events).toEqual(['pending 0']);
    expect(router.hasInterrupt()).toBe(true);
    enable();
    wr(APIC_ICR, icr(0x90, 0, { shorthand: 1 }));
    expect(router.acknowledge()).toBe(0x90); // local APIC before the 8259
    expect(router.acknowledge()).toBe(0x08);
    expect(pic.acks).toBe(1);
    // Mask LINT0: the PIC no longer reaches the CPU.
    pic.pending = 0x09;
    wr(APIC_LVT0, 0x10700);
    expect(router.hasInterrupt()).toBe(false);
    wr(APIC_LVT0, 0x700);
    expect(router.hasInterrupt()).toBe(true);
  });

  it("SeaBIOS smp_setup on one CPU: LINT0 0x8700, LINT1 0x8400, INIT+SIPI to all others; the 8259 still gets through", () => {
    const { router, pic, rd, wr, events } = makeApics();
    wr(0xf0, rd(0xf0) | 0x100);
    wr(APIC_LVT0, 0x8700);
    wr(0x360, 0x8400);
    wr(APIC_ICR, 0x000c4500);
    wr(APIC_ICR, 0x000c4600 | 0x9f);
    expect(router.unroutedCount).toBe(2);
    expect(events).toEqual([]);
    pic.pending = 0x08;
    router.setPicIntr(true);
    expect(router.hasInterrupt()).toBe(true);
    expect(router.acknowledge()).toBe(0x08);
    expect(rd(APIC_LVT0)).toBe(0x8700); // no remote IRR for ExtINT
  });

  it('an ExtINT message (IOAPIC pin in ExtINT mode) takes the vector from the 8259 even with LINT0 masked', () => {
    const { router, pic, wr, enable, events } = makeApics();
    enable();
    wr(APIC_LVT0, 0x10700);
    pic.pending = 0x08;
    expect(router.hasInterrupt()).toBe(false);
    router.deliverFromIoapic({ vector: 0, deliveryMode: 7, destMode: 'physical', dest: 0, trigger: 'edge', pin: 0 });
    expect(events).toEqual(['pending 0']);
    expect(router.hasInterrupt()).toBe(true);
    expect(router.acknowledge()).toBe(0x08);
    pic.pending = 0x09;
    expect(router.hasInterrupt()).toBe(false); // one INTA per message
  });

  it('hardware-disabled APIC: the PIC is the CPU INTR, the APIC receives nothing', () => {
    const { router, pic, lapic, events } = makeApics();
    lapic.writeMsr(MSR_IA32_APIC_BASE, 0xfee0_0000, 0);
    pic.pending = 0x20;
    router.setPicIntr(true);
    expect(events).toEqual(['pending 0']);
    expect(router.hasInterrupt()).toBe(true);
    expect(router.acknowledge()).toBe(0x20);
    router.deliverMsi(0xfee0_0000, 0x41);
    expect(lapic.bits(0x41).irr).toBe(false);
    expect(router.unroutedCount).toBe(1);
  });

  it('works as a plain PIC pass-through with no local APIC at all', () => {
    const pic = { hasInterrupt: () => true, acknowledge: () => 0x0a };
    const pending: number[] = [];
    const router = new InterruptRouter({ pic, onNmi: () => {}, onInterruptPending: (id) => pending.push(id) });
    router.setPicIntr(true);
    expect(pending).toEqual([0]);
    expect(router.hasInterrupt()).toBe(true);
    expect(router.acknowledge()).toBe(0x0a);
  });
});
