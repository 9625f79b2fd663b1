import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../time/clock.js';
import {
  APIC_ARBPRI, APIC_DFR, APIC_EOI, APIC_ESR, APIC_ICR, APIC_ID, APIC_IRR, APIC_ISR, APIC_LDR, APIC_LVR, APIC_LVT0, APIC_LVT1,
  APIC_LVTERR, APIC_LVTT, APIC_PROCPRI, APIC_SPIV, APIC_TASKPRI, APIC_TMR, LocalApic, MSR_IA32_APIC_BASE, type MsrValue,
} from './lapic.js';
import { InterruptRouter } from './interrupt-router.js';
import { makeApics } from './test-harness.js';

/** Sends a fixed self-IPI with `vector` (edge) through the ICR. */
function selfIpi(wr: (o: number, v: number) => void, vector: number, level = false): void {
  wr(APIC_ICR, (1 << 18) | (level ? 1 << 15 : 0) | (1 << 14) | vector);
}

describe('local APIC registers (SDM 11.4, Table 11-1)', () => {
  it('has QEMU power-up values: ID, version 0x50014, SVR 0xFF, DFR all ones, LVTs masked, BSP LINT0 ExtINT', () => {
    const { rd, lapic } = makeApics(2);
    expect(rd(APIC_ID)).toBe(0);
    expect(rd(APIC_ID, makeApics(2).apics[1])).toBe(0x0100_0000);
    expect(rd(APIC_LVR)).toBe(0x0005_0014);
    expect(rd(APIC_SPIV)).toBe(0xff);
    expect(rd(APIC_DFR)).toBe(0xffff_ffff);
    expect(rd(APIC_LVTT)).toBe(0x10000);
    expect(rd(APIC_LVT0)).toBe(0x700);
    expect(rd(APIC_LVT1)).toBe(0x10000);
    expect(lapic.softwareEnabled).toBe(false);
    expect(lapic.hardwareEnabled).toBe(true);
  });

  it('ignores writes to read-only registers, flags them and reserved registers in the ESR', () => {
    const { rd, wr, lapic } = makeApics();
    wr(APIC_LVR, 0x1234);
    wr(APIC_PROCPRI, 0x50);
    wr(APIC_IRR, 0xffff_ffff);
    expect(rd(APIC_LVR)).toBe(0x50014);
    expect(rd(APIC_PROCPRI)).toBe(0);
    expect(rd(APIC_IRR)).toBe(0);
    expect(rd(0x400)).toBe(0); // reserved
    expect(lapic.misuseCount).toBe(4);
    // ESR: write-before-read. Nothing visible until the next write latches the errors.
    expect(rd(APIC_ESR)).toBe(0);
    wr(APIC_ESR, 0);
    expect(rd(APIC_ESR)).toBe(0x80);
    wr(APIC_ESR, 0);
    expect(rd(APIC_ESR)).toBe(0);
  });

  it('keeps only writable bits: ID 31:24, TPR 7:0, LDR 31:24, DFR 31:28, SVR 9:0', () => {
    const { rd, wr } = makeApics();
    wr(APIC_ID, 0xffff_ffff);
    wr(APIC_TASKPRI, 0x1ff);
    wr(APIC_LDR, 0xffff_ffff);
    wr(APIC_DFR, 0);
    wr(APIC_SPIV, 0xffff_ffff);
    expect([rd(APIC_ID), rd(APIC_TASKPRI), rd(APIC_LDR), rd(APIC_DFR), rd(APIC_SPIV)])
      .toEqual([0xff00_0000, 0xff, 0xff00_0000, 0x0fff_ffff, 0x3ff]);
  });

  it('reads bytes of a dword, ignores narrow or unaligned writes', () => {
    const { lapic, rd } = makeApics();
    expect(lapic.mmio.read(APIC_LVR + 2, 1)).toBe(0x05);
    expect(lapic.mmio.read(APIC_LVR, 2)).toBe(0x0014);
    lapic.mmio.write(APIC_TASKPRI, 1, 0x20);
    lapic.mmio.write(APIC_TASKPRI + 4, 4, 0x20);
    expect(rd(APIC_TASKPRI)).toBe(0);
    expect(lapic.misuseCount).toBe(2);
  });

  it('software disable masks every LVT and keeps the masks while disabled', () => {
    const { rd, wr, enable } = makeApics();
    enable();
    wr(APIC_LVTERR, 0xfe);
    expect(rd(APIC_LVTERR)).toBe(0xfe);
    wr(APIC_SPIV, 0xff);
    expect(rd(APIC_LVTERR)).toBe(0x100fe);
    expect(rd(APIC_LVT0) & 0x10000).toBe(0x10000);
    wr(APIC_LVTERR, 0xfe);
    expect(rd(APIC_LVTERR)).toBe(0x100fe);
  });
});

describe('interrupt acceptance and priority (SDM 11.8)', () => {
  it('delivers the highest IRR vector, nests with ISR, EOIs the highest ISR', () => {
    const { lapic, wr, rd, enable } = makeApics();
    enable();
    selfIpi(wr, 0x31);
    selfIpi(wr, 0x52);
    selfIpi(wr, 0x40);
    expect(rd(APIC_IRR + 0x10)).toBe(1 << 17); // 0x31: dword 1 holds vectors 32..63
    expect(rd(APIC_IRR + 0x20)).toBe((1 << 18) | 1); // 0x52, 0x40
    expect(lapic.acknowledge()).toBe(0x52);
    expect(rd(APIC_ISR + 0x20)).toBe(1 << 18);
    expect(rd(APIC_PROCPRI)).toBe(0x50);
    // 0x40 is below the in-service class 0x50: blocked until EOI.
    expect(lapic.hasInterrupt()).toBe(false);
    wr(APIC_EOI, 0);
    expect(lapic.acknowledge()).toBe(0x40);
    expect(lapic.hasInterrupt()).toBe(false); // 0x31 below class 0x40
    selfIpi(wr, 0x70);
    expect(lapic.acknowledge()).toBe(0x70); // nests above 0x40
    wr(APIC_EOI, 0);
    expect(lapic.bits(0x70).isr).toBe(false);
    expect(lapic.bits(0x40).isr).toBe(true);
    wr(APIC_EOI, 0);
    expect(lapic.acknowledge()).toBe(0x31);
  });

  it('TPR masks by priority class; PPR and APR follow the SDM formulas', () => {
    const { lapic, wr, rd, enable } = makeApics();
    enable();
    wr(APIC_TASKPRI, 0x45);
    selfIpi(wr, 0x4f);
    expect(lapic.hasInterrupt()).toBe(false); // same class as TPR
    expect(rd(APIC_PROCPRI)).toBe(0x45);
    expect(rd(APIC_ARBPRI)).toBe(0x45);
    selfIpi(wr, 0x50);
    expect(rd(APIC_ARBPRI)).toBe(0x50);
    expect(lapic.acknowledge()).toBe(0x50);
    expect(rd(APIC_PROCPRI)).toBe(0x50);
    wr(APIC_EOI, 0);
    wr(APIC_TASKPRI, 0);
    expect(lapic.hasInterrupt()).toBe(true);
    lapic.writeCr8(0x14); // CR8 sets TPR[7:4] only
    expect([rd(APIC_TASKPRI), lapic.readCr8()]).toEqual([0x40, 4]);
    expect(lapic.hasInterrupt()).toBe(false);
  });

  it('returns the spurious vector when the TPR masks the interrupt late', () => {
    const { lapic, wr } = makeApics();
    wr(APIC_SPIV, 0x1e7);
    selfIpi(wr, 0x60);
    expect(lapic.hasInterrupt()).toBe(true);
    wr(APIC_TASKPRI, 0x60);
    expect(lapic.acknowledge()).toBe(0xe7);
    expect(lapic.spuriousCount).toBe(1);
    expect(lapic.bits(0x60)).toEqual({ irr: true, isr: false, tmr: false });
  });

  it('holds fixed interrupts while software-disabled and delivers them once enabled', () => {
    const { lapic, wr, events } = makeApics();
    lapic.receive(0, 0x80, 'edge');
    expect(lapic.hasInterrupt()).toBe(false);
    expect(events).toEqual([]);
    wr(APIC_SPIV, 0x1ff);
    expect(events).toEqual(['pending 0']);
    expect(lapic.acknowledge()).toBe(0x80);
  });

  it('level-triggered EOI broadcasts the vector to the I/O APIC, edge EOI does not', () => {
    const { lapic, wr, rd, eois, enable } = makeApics();
    enable();
    lapic.receive(0, 0x61, 'level');
    lapic.receive(0, 0x62, 'edge');
    expect(rd(APIC_TMR + 0x30)).toBe(1 << 1);
    expect(lapic.acknowledge()).toBe(0x62);
    wr(APIC_EOI, 0);
    expect(eois).toEqual([]);
    expect(lapic.acknowledge()).toBe(0x61);
    wr(APIC_EOI, 0);
    expect(eois).toEqual([0x61]);
    expect(rd(APIC_TMR + 0x30)).toBe(0);
  });

  it('rejects vectors 0-15 with receive/send illegal vector errors and raises the error LVT', () => {
    const { lapic, wr, rd, enable } = makeApics();
    enable();
    wr(APIC_LVTERR, 0xfe);
    lapic.receive(0, 0x05, 'edge');
    selfIpi(wr, 0x03);
    expect(lapic.bits(0x05).irr).toBe(false);
    expect(lapic.acknowledge()).toBe(0xfe);
    wr(APIC_ESR, 0);
    expect(rd(APIC_ESR)).toBe(0x60);
  });

  it('delivers LINT1 as NMI on a rising edge only while unmasked', () => {
    const { lapic, wr, events, enable } = makeApics();
    enable();
    lapic.setLint(1, true);
    lapic.setLint(1, false);
    expect(events).toEqual([]);
    wr(APIC_LVT1, 0x400);
    lapic.setLint(1, true);
    lapic.setLint(1, true);
    expect(events).toEqual(['nmi 0']);
  });

  it('level-triggered fixed LINT sets remote IRR until EOI, then re-samples the input', () => {
    const { lapic, wr, rd, eois, enable } = makeApics();
    enable();
    wr(APIC_LVT1, 0x8000 | 0x91);
    lapic.setLint(1, true);
    expect(rd(APIC_LVT1) & 0x4000).toBe(0x4000);
    expect(lapic.acknowledge()).toBe(0x91);
    wr(APIC_EOI, 0);
    expect(eois).toEqual([0x91]);
    expect(lapic.bits(0x91).irr).toBe(true); // still asserted: delivered again
    lapic.setLint(1, false);
    expect(lapic.acknowledge()).toBe(0x91);
    wr(APIC_EOI, 0);
    expect(rd(APIC_LVT1) & 0x4000).toBe(0);
    expect(lapic.hasInterrupt()).toBe(false);
  });
});

describe('destinations (SDM 11.6.2)', () => {
  it('matches physical IDs, flat and cluster logical destinations, and broadcast', () => {
    const { lapic, wr } = makeApics();
    wr(APIC_ID, 0x0300_0000);
    expect(lapic.matchesDestination(3, 'physical')).toBe(true);
    expect(lapic.matchesDestination(0, 'physical')).toBe(false);
    expect(lapic.matchesDestination(0xff, 'physical')).toBe(true);
    wr(APIC_LDR, 0x0400_0000);
    expect(lapic.matchesDestination(0x06, 'logical')).toBe(true);
    expect(lapic.matchesDestination(0x08, 'logical')).toBe(false);
    wr(APIC_DFR, 0x0fff_ffff); // cluster
    wr(APIC_LDR, 0x2100_0000); // cluster 2, member bit 0
    expect(lapic.matchesDestination(0x21, 'logical')).toBe(true);
    expect(lapic.matchesDestination(0x11, 'logical')).toBe(false);
    expect(lapic.matchesDestination(0x22, 'logical')).toBe(false);
    expect(lapic.matchesDestination(0xf1, 'logical')).toBe(true);
  });
});

describe('IA32_APIC_BASE (SDM 11.4.4)', () => {
  it('reads 0xFEE00900 for the BSP, refuses reserved and x2APIC bits, keeps BSP read-only', () => {
    const { lapic } = makeApics();
    const out: MsrValue = { lo: 0, hi: 0 };
    expect(lapic.readMsr(MSR_IA32_APIC_BASE, out)).toBe(true);
    expect(out).toEqual({ lo: 0xfee00900, hi: 0 });
    expect(lapic.writeMsr(MSR_IA32_APIC_BASE, 0xfee00d00, 0)).toBe(false); // x2APIC
    expect(lapic.writeMsr(MSR_IA32_APIC_BASE, 0xfee00901, 0)).toBe(false);
    expect(lapic.writeMsr(MSR_IA32_APIC_BASE, 0xfee00900, 0x10)).toBe(false);
    expect(lapic.writeMsr(MSR_IA32_APIC_BASE, 0xfee00800, 0)).toBe(true);
    lapic.readMsr(MSR_IA32_APIC_BASE, out);
    expect(out.lo).toBe(0xfee00900);
    expect(lapic.readMsr(0x10, out)).toBe(false);
  });

  it('disable hides the page, resets state and reports it; enable at a new base relocates', () => {
    const { lapic, wr, rd, bases, enable } = makeApics();
    enable();
    wr(APIC_TASKPRI, 0x30);
    selfIpi(wr, 0x40);
    expect(lapic.writeMsr(MSR_IA32_APIC_BASE, 0xfee00000, 0)).toBe(true);
    expect(lapic.hardwareEnabled).toBe(false);
    expect(rd(APIC_TASKPRI)).toBe(0xffff_ffff);
    expect(lapic.hasInterrupt()).toBe(false);
    expect(lapic.writeMsr(MSR_IA32_APIC_BASE, 0xfed00800, 0)).toBe(true);
    expect(lapic.baseGpa).toBe(0xfed00000);
    expect(bases).toEqual([[0xfee00000, false], [0xfed00000, true]]);
    expect(rd(APIC_TASKPRI)).toBe(0);
    expect(rd(APIC_SPIV)).toBe(0xff);
    expect(lapic.bits(0x40).irr).toBe(false);
  });
});

describe('robustness and state', () => {
  it('random MMIO and MSR sequences never throw and keep PPR consistent', () => {
    fc.assert(fc.property(fc.array(fc.record({
      kind: fc.constantFrom('r', 'w', 'w', 'msr', 'ack', 'int', 'step'),
      off: fc.integer({ min: 0, max: 0xfff }),
      size: fc.constantFrom<1 | 2 | 4>(1, 2, 4, 4),
      value: fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.constantFrom(0, 0x1ff, 0x10000, 0x20000, 0x40000, 0xb, 0x4000)),
    }), { maxLength: 60 }), (ops) => {
      const { lapic, clock } = makeApics();
      for (const op of ops) {
        switch (op.kind) {
          case 'r': lapic.mmio.read(op.off, op.size); break;
          case 'w': lapic.mmio.write(op.off & 0xff0, 4, op.value >>> 0); break;
          case 'msr': lapic.writeMsr(op.value & 1 ? 0x6e0 : MSR_IA32_APIC_BASE, (op.value & 0x1ff) * 0x80, 0); break;
          case 'ack': if (lapic.hasInterrupt()) lapic.acknowledge(); break;
          case 'int': lapic.receive(op.value & 7, op.value >>> 8, op.value & 8 ? 'level' : 'edge'); break;
          case 'step': clock.step(op.value % 100_000); break;
        }
      }
      const ppr = lapic.processorPriority();
      expect(ppr).toBeGreaterThanOrEqual(lapic.taskPriority);
    }), { numRuns: 60 });
  });

  it('rejects malformed state without touching the device', () => {
    const { lapic, wr, rd } = makeApics();
    wr(APIC_TASKPRI, 0x20);
    const good = lapic.saveState();
    expect(() => lapic.loadState({ ...good, v: 2 })).toThrow();
    expect(() => lapic.loadState({ ...good, irr: [1, 2] })).toThrow();
    expect(() => lapic.loadState({ ...good, tpr: 0x100 })).toThrow();
    expect(() => lapic.loadState({ ...good, lvt: { ...(good.lvt as object), timer: 0x60000 } })).toThrow();
    expect(() => lapic.loadState({ ...good, apicBaseLo: 0xfee00800 })).toThrow(); // BSP bit mismatch
    expect(() => lapic.loadState(null)).toThrow();
    expect(rd(APIC_TASKPRI)).toBe(0x20);
  });

  it('save -> JSON -> load -> save is identical', () => {
    const { lapic, wr, enable } = makeApics();
    enable();
    wr(APIC_TASKPRI, 0x10);
    wr(APIC_LDR, 0x0100_0000);
    selfIpi(wr, 0x44, true);
    lapic.acknowledge();
    selfIpi(wr, 0x55);
    wr(APIC_LVTERR, 0xee);
    wr(0x400, 1); // an error pending in the ESR
    const clock = new VirtualClock();
    const router = new InterruptRouter({ onNmi: () => {}, onInterruptPending: () => {} });
    const fresh = new LocalApic({ apicId: 0, bsp: true, clock, scheduler: clock, bus: router, tsc: { read: () => 0, hz: 1e9 } });
    const first = JSON.stringify(lapic.saveState());
    fresh.loadState(JSON.parse(first));
    expect(JSON.stringify(fresh.saveState())).toBe(first);
  });
});
