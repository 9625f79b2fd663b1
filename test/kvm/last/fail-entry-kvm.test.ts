/**
 * A vCPU whose state the hardware refuses to enter (KVM_EXIT_FAIL_ENTRY) stops the machine
 * with a readable error, not a hung worker. A guest cannot reach such a state through its
 * own instructions, so the test puts one in with loadCpuState while the machine is paused:
 * long mode with a code segment that has both L and D set, which VMRUN (AMD APM vol. 2,
 * 15.5.1) and VM entry (Intel SDM vol. 3C, 26.3.1.2) reject but KVM_SET_SREGS accepts.
 * In test/kvm/last/ with the triple fault: an entry failure may upset the nested KVM.
 */
import { describe, expect, it } from 'vitest';
import { KvmCpu } from '../../../emulator/cpu/kvm/kvm-backend.js';
import { Layout } from '../../../emulator/cpu/kvm/kvm-sys.js';
import { boot, runToEnd, tinyBios } from '../inner/kvm-machine.js';
import { kvmSkipNote, kvmUsable, pvm } from '../inner/kvm-env.js';

describe(`PcMachine on KVM: entry failure${kvmSkipNote}`, () => {
  it.skipIf(!kvmUsable || pvm)('an invalid guest state stops the machine with a readable KVM_EXIT_FAIL_ENTRY error', async () => {
    const b = boot(tinyBios([0xe6, 0x80, 0xeb, 0xfe])); // out 0x80, al; jmp $
    await new Promise((r) => setTimeout(r, 500));
    b.machine.pause();
    const cpu = b.machine.cpu;
    if (!(cpu instanceof KvmCpu)) throw new Error('not on KVM');
    const state = cpu.saveCpuState();
    const sregs = new DataView(state.sregs.buffer.slice(0));
    const S = Layout.sregs;
    const cs = S.cs;
    sregs.setBigUint64(S.cr0, 0x8000_0011n, true); //          PG | ET | PE
    sregs.setBigUint64(S.cr3, 0x1000n, true);
    sregs.setBigUint64(S.cr4, 0x20n, true); //                 PAE
    sregs.setBigUint64(S.efer, 0x500n, true); //               LME | LMA
    sregs.setUint8(cs + Layout.segment.type, 0xb);
    sregs.setUint8(cs + Layout.segment.s, 1);
    sregs.setUint8(cs + Layout.segment.present, 1);
    sregs.setUint8(cs + Layout.segment.l, 1);
    sregs.setUint8(cs + Layout.segment.db, 1); //              L and D together: reserved in 64-bit mode
    cpu.loadCpuState({ ...state, sregs: new Uint8Array(sregs.buffer) });
    b.machine.resume();
    const reason = await runToEnd(b, 60_000);
    console.log(`entry failure: ${JSON.stringify(reason)}\n${b.logs.join('\n')}`);
    expect(reason.kind).toBe('error');
    expect(reason.kind === 'error' ? reason.message : '').toMatch(/^KVM_EXIT_FAIL_ENTRY: (SVM VMEXIT_INVALID|VMX entry failure, exit reason 33)/);
    expect(b.machine.runState).toBe('stopped');
  }, 90_000);
});
