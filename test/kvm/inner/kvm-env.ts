/**
 * Shared by the inner KVM tests: whether KVM is usable here, and why not. Inside the
 * nested guest (run-nested.sh sets VIREO_KVM_NESTED=1) an unusable KVM is a failure;
 * anywhere else the tests are skipped and the reason is part of the suite's name.
 */
import { existsSync } from 'node:fs';
import { probeKvm } from '../../../emulator/cpu/kvm/kvm-probe.js';
import { hostPageOffset } from '../../../emulator/cpu/kvm/kvm-sys.js';

const probe = probeKvm();
/** True inside run-nested.sh's guest. */
export const nested = process.env.VIREO_KVM_NESTED === '1';
/** Run the KVM tests? */
export const kvmUsable = probe.usable;
/** A suite-name suffix that says why the suite is skipped. */
export const kvmSkipNote = probe.usable ? '' : ` (skipped: ${probe.reason}; run test/kvm/run-nested.sh)`;
/** This host's /dev/kvm is PVM (kvm_pvm): it emulates 16/32-bit guest code in the host kernel, x87 and SSE not included. */
export const pvm = existsSync('/sys/module/kvm_pvm');
/** The probe's reason, for the nested-guest failure message. */
export const kvmReason = probe.usable ? '' : probe.reason;

/** `size` bytes of a SharedArrayBuffer starting at a page-aligned host address. */
export function alignedBytes(size: number): Uint8Array {
  const sab = new SharedArrayBuffer(size + 4096);
  return new Uint8Array(sab, hostPageOffset(sab), size);
}
