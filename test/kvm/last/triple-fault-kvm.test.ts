/**
 * A guest that triple-faults under KVM (KVM_EXIT_SHUTDOWN) stops with a readable error and a
 * stopped machine, not a hung worker. Kept apart from test/kvm/inner/ and run after it
 * (run-nested.sh): in the nested test host (QEMU TCG's emulated SVM) a shutdown intercept
 * leaves the nested KVM unwell, and a Linux guest booted afterwards was seen to stall. On a
 * PVM host (kvm_pvm), which emulates real-mode code itself, the same guest ends in an
 * emulation error instead: still a readable error and a stopped machine.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { boot, runToEnd, tinyBios } from '../inner/kvm-machine.js';
import { kvmSkipNote, kvmUsable } from '../inner/kvm-env.js';

const pvm = existsSync('/sys/module/kvm_pvm');

describe(`PcMachine on KVM: triple fault${kvmSkipNote}`, () => {
  it.skipIf(!kvmUsable)('a triple fault stops the machine with a readable error, not a hung worker', async () => {
    const code = [
      0xfa, //                                     cli
      0x2e, 0x0f, 0x01, 0x1e, 0x30, 0x00, //       lidt [cs:0x30] (limit 0)
      0xcc, //                                     int3 -> #GP -> #DF -> triple fault
      0xb0, 0x2a, 0xe6, 0xf4, 0xf4, //             (never reached) isa-debug-exit
    ];
    const bios = tinyBios(code);
    bios.fill(0, 0x10030, 0x10036); // IDTR image at F000:0030: limit 0, base 0
    const b = boot(bios);
    const reason = await runToEnd(b, 60_000);
    console.log(`triple fault: ${JSON.stringify(reason)}`);
    expect(reason.kind).toBe('error');
    const message = reason.kind === 'error' ? reason.message : '';
    expect(message).toMatch(pvm ? /^(the guest triple-faulted \(KVM_EXIT_SHUTDOWN|KVM_EXIT_INTERNAL_ERROR )/ : /^the guest triple-faulted \(KVM_EXIT_SHUTDOWN/);
    expect(b.machine.runState).toBe('stopped');
  }, 90_000);
});
