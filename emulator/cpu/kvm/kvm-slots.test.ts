import { describe, expect, it } from 'vitest';
import { AddressSpace } from '../../memory/address-space.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import { PhysMap } from '../../memory/phys-map.js';
import { KVM_MEM_READONLY } from './kvm-sys.js';
import { planSlots, slotsFromFlatView } from './kvm-slots.js';

function space(): { as: AddressSpace; mem: GuestMemory } {
  const mem = new GuestMemory(1 << 20, 0x20000 + 4096);
  const bios = mem.allocate('bios', 0x20000);
  const as = new AddressSpace({ memory: mem, physMap: new PhysMap() });
  const ram = as.ram('ram', mem.block('ram')!, 0, 1 << 20);
  as.transaction(() => {
    as.root.addSubregion(ram, 0);
    as.root.addSubregion(as.rom('bios', bios, 0, 0x20000), 0x1_0000_0000 - 0x20000);
    as.root.addSubregion(as.mmio('vga', 0x20000, { minSize: 1, maxSize: 4, read: () => 0, write: () => {} }), 0xa0000, { priority: 1 });
  });
  return { as, mem };
}

describe('slotsFromFlatView', () => {
  it('maps RAM around an MMIO hole and ROM read-only', () => {
    const { as } = space();
    expect(slotsFromFlatView(as.flatView())).toEqual([
      { gpa: 0, sizeBytes: 0xa0000, memOffset: 0, flags: 0 },
      { gpa: 0xc0000, sizeBytes: 0x40000, memOffset: 0xc0000, flags: 0 },
      { gpa: 0xfffe0000, sizeBytes: 0x20000, memOffset: 1 << 20, flags: KVM_MEM_READONLY },
    ]);
  });
  it('keeps sub-page pieces out', () => {
    const { as } = space();
    as.root.addSubregion(as.mmio('small', 0x10, { minSize: 1, maxSize: 4, read: () => 0, write: () => {} }), 0x1008, { priority: 2 });
    const slots = slotsFromFlatView(as.flatView());
    expect(slots[0]).toEqual({ gpa: 0, sizeBytes: 0x1000, memOffset: 0, flags: 0 });
    expect(slots[1]).toEqual({ gpa: 0x2000, sizeBytes: 0x9e000, memOffset: 0x2000, flags: 0 });
  });
});

describe('planSlots', () => {
  it('keeps unchanged slots, removes the old before adding the new', () => {
    const a = { gpa: 0, sizeBytes: 0x1000, memOffset: 0, flags: 0 };
    const b = { gpa: 0x2000, sizeBytes: 0x1000, memOffset: 0x2000, flags: 0 };
    const c = { gpa: 0x2000, sizeBytes: 0x1000, memOffset: 0x2000, flags: KVM_MEM_READONLY };
    const first = planSlots([], [a, b]);
    expect(first.add.map((s) => s.slot)).toEqual([0, 1]);
    const second = planSlots(first.next, [a, c]);
    expect(second.remove).toEqual([{ ...b, slot: 1 }]);
    expect(second.add).toEqual([{ ...c, slot: 1 }]);
    expect(second.next).toEqual([{ ...a, slot: 0 }, { ...c, slot: 1 }]);
  });
});
