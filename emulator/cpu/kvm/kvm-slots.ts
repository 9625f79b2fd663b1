/**
 * kvm-slots: turns the machine's flat memory view into KVM memory slots, and the
 * difference between two such lists into KVM_SET_USER_MEMORY_REGION calls.
 *
 * Follows Documentation/virt/kvm/api.rst 4.35 (KVM_SET_USER_MEMORY_REGION): guest_phys_addr,
 * memory_size and userspace_addr must be page-aligned; a slot is deleted by setting its
 * memory_size to 0; slots may not overlap, so deletions go first; KVM_MEM_READONLY makes
 * guest writes exit as KVM_EXIT_MMIO (api.rst 4.35 and KVM_CAP_READONLY_MEM).
 *
 * RAM and ROM ranges of the flat view become slots (ROM and read-only RAM with
 * KVM_MEM_READONLY); MMIO ranges and holes stay unmapped so accesses exit to VmOps. A
 * range whose guest and backing addresses do not share their page offset is left to the
 * MMIO path entirely; a range that is not page-aligned at its ends gets a slot for its
 * whole pages only, like PhysMap (the remaining bytes still reach VmOps.mmioRead/Write,
 * which AddressSpace serves from the same backing store).
 *
 * Pure logic: no system calls here.
 */
import { PAGE_SIZE } from '../../memory/guest-memory.js';
import type { FlatRange } from '../../memory/address-space.js';
import { KVM_MEM_READONLY } from './kvm-sys.js';

/** What KvmCpu needs from the machine's memory map (AddressSpace satisfies it). */
export interface KvmMemoryMap {
  /** The current flat view, sorted by address. */
  flatView(): readonly FlatRange[];
  /** Increments on every re-flatten; a change means the slots must be rebuilt. */
  readonly flattenCount: number;
}

/** One memory slot, before a slot number is assigned. */
export interface SlotSpec {
  readonly gpa: number;
  readonly sizeBytes: number;
  /** Byte offset in GuestMemory.u8 of the slot's first byte. */
  readonly memOffset: number;
  /** KVM_MEM_* flags. */
  readonly flags: number;
}

/** Slots for the RAM/ROM ranges of `flat` (see the module header for the rules). */
export function slotsFromFlatView(flat: readonly FlatRange[]): SlotSpec[] {
  const out: SlotSpec[] = [];
  for (const r of flat) {
    if (r.kind === 'mmio') continue;
    const backing = r.region.backing;
    if (!backing) continue;
    const memStart = backing.block.offset + backing.offset + r.regionOffset;
    if ((memStart - r.start) % PAGE_SIZE !== 0) continue;
    const first = Math.ceil(r.start / PAGE_SIZE) * PAGE_SIZE;
    const last = Math.floor(r.end / PAGE_SIZE) * PAGE_SIZE;
    if (last <= first) continue;
    const spec: SlotSpec = {
      gpa: first,
      sizeBytes: last - first,
      memOffset: memStart + (first - r.start),
      flags: r.readonly ? KVM_MEM_READONLY : 0,
    };
    // Merge with the previous slot when it continues it exactly (RAM split by nothing).
    const prev = out[out.length - 1];
    if (prev && prev.gpa + prev.sizeBytes === spec.gpa && prev.memOffset + prev.sizeBytes === spec.memOffset && prev.flags === spec.flags) {
      out[out.length - 1] = { ...prev, sizeBytes: prev.sizeBytes + spec.sizeBytes };
    } else {
      out.push(spec);
    }
  }
  return out;
}

/** A slot as registered with KVM. */
export interface ActiveSlot extends SlotSpec {
  readonly slot: number;
}

/** The calls that turn `current` into `wanted`. */
export interface SlotPlan {
  /** Slots to delete (memory_size 0), issued first. */
  readonly remove: readonly ActiveSlot[];
  /** Slots to create, with their slot numbers. */
  readonly add: readonly ActiveSlot[];
  /** The resulting set. */
  readonly next: readonly ActiveSlot[];
}

function sameSpec(a: SlotSpec, b: SlotSpec): boolean {
  return a.gpa === b.gpa && a.sizeBytes === b.sizeBytes && a.memOffset === b.memOffset && a.flags === b.flags;
}

/** Plans the minimal delete/add sequence; unchanged slots keep their numbers. */
export function planSlots(current: readonly ActiveSlot[], wanted: readonly SlotSpec[]): SlotPlan {
  const keep: ActiveSlot[] = [];
  const remove: ActiveSlot[] = [];
  for (const s of current) {
    if (wanted.some((w) => sameSpec(w, s))) keep.push(s);
    else remove.push(s);
  }
  const used = new Set(keep.map((s) => s.slot));
  const add: ActiveSlot[] = [];
  let nextFree = 0;
  for (const w of wanted) {
    if (keep.some((k) => sameSpec(k, w))) continue;
    while (used.has(nextFree)) nextFree++;
    used.add(nextFree);
    add.push({ ...w, slot: nextFree });
  }
  const next = [...keep, ...add].sort((a, b) => a.gpa - b.gpa);
  return { remove, add, next };
}
