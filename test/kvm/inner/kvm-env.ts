/**
 * Shared by the inner KVM tests: whether KVM is usable here, and why not. Inside the
 * nested guest (run-nested.sh sets VIREO_KVM_NESTED=1) an unusable KVM is a failure;
 * anywhere else the tests are skipped and the reason is part of the suite's name.
 */
import { probeKvm } from '../../../emulator/cpu/kvm/kvm-probe.js';
import { hostPageOffset } from '../../../emulator/cpu/kvm/kvm-sys.js';
import type { GuestMemory } from '../../../emulator/memory/guest-memory.js';

const probe = probeKvm();
/** True inside run-nested.sh's guest. */
export const nested = process.env.VIREO_KVM_NESTED === '1';
/** Run the KVM tests? */
export const kvmUsable = probe.usable;
/** A suite-name suffix that says why the suite is skipped. */
export const kvmSkipNote = probe.usable ? '' : ` (skipped: ${probe.reason}; run test/kvm/run-nested.sh)`;
/** The probe's reason, for the nested-guest failure message. */
export const kvmReason = probe.usable ? '' : probe.reason;

/** `size` bytes of a SharedArrayBuffer starting at a page-aligned host address. */
export function alignedBytes(size: number): Uint8Array {
  const sab = new SharedArrayBuffer(size + 4096);
  return new Uint8Array(sab, hostPageOffset(sab), size);
}

/**
 * Stopgap until GuestMemory exposes a page-aligned window itself: moves a GuestMemory's
 * bytes into a page-aligned window of a new SharedArrayBuffer and points `u8`/`view`/`buffer`
 * there. Views devices took at construction (the VGA's VRAM views) keep the old bytes, so
 * the display is not trustworthy afterwards; everything that goes through `mem.u8` is.
 */
export function rebaseForKvm(mem: GuestMemory): void {
  const u8 = alignedBytes(mem.u8.length);
  u8.set(mem.u8);
  const m = mem as unknown as { u8: Uint8Array; view: DataView; buffer: SharedArrayBuffer };
  m.u8 = u8;
  m.view = new DataView(u8.buffer, u8.byteOffset, u8.length);
  m.buffer = u8.buffer as SharedArrayBuffer;
}
