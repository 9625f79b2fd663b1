import { describe, expect, it } from 'vitest';
import { pcGsiRoutes } from './kvm-backend.js';
import { KVM_IRQCHIP } from './kvm-sys.js';

describe('GSI routing of the in-kernel irqchip (what the MADT says)', () => {
  const routes = pcGsiRoutes();
  const of = (gsi: number): Array<[number, number]> => routes.filter(([g]) => g === gsi).map(([, chip, pin]) => [chip, pin]);
  it('ISA IRQ0 reaches 8259 pin 0 and IOAPIC pin 2 (the interrupt source override)', () => {
    expect(of(0)).toEqual([[KVM_IRQCHIP.PIC_MASTER, 0], [KVM_IRQCHIP.IOAPIC, 2]]);
  });
  it('GSI 2 is IOAPIC pin 2 only (no 8259 line: the cascade)', () => {
    expect(of(2)).toEqual([[KVM_IRQCHIP.IOAPIC, 2]]);
  });
  it('other ISA IRQs reach their 8259 pin and the same IOAPIC pin; GSI 16-23 the IOAPIC only', () => {
    expect(of(1)).toEqual([[KVM_IRQCHIP.PIC_MASTER, 1], [KVM_IRQCHIP.IOAPIC, 1]]);
    expect(of(9)).toEqual([[KVM_IRQCHIP.PIC_SLAVE, 1], [KVM_IRQCHIP.IOAPIC, 9]]);
    expect(of(15)).toEqual([[KVM_IRQCHIP.PIC_SLAVE, 7], [KVM_IRQCHIP.IOAPIC, 15]]);
    for (let gsi = 16; gsi < 24; gsi++) expect(of(gsi)).toEqual([[KVM_IRQCHIP.IOAPIC, gsi]]);
    expect(of(24)).toEqual([]);
    expect(routes).toHaveLength(15 + 24);
  });
});
