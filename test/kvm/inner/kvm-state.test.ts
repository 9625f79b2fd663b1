/**
 * KvmCpu.saveCpuState / loadCpuState (emulator/cpu/kvm/kvm-state.ts) on a tiny real-mode
 * guest: a snapshot taken at a checkpoint, the guest run on (it reports its registers, x87
 * stack and an MSR, then changes all three), the snapshot put back and the same stretch run
 * again must report the same values: without the general registers, the FPU/XSAVE state or
 * the MSRs in the snapshot the second report differs. Also through the JSON form, and with
 * the in-kernel irqchip (its local APIC is part of the snapshot). Runs only where /dev/kvm
 * works and is not PVM, whose in-kernel emulation of real-mode code has no x87
 * (test/kvm/run-nested.sh).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CpuExit, type VmOps } from '../../../emulator/cpu/backend.js';
import { KvmCpu } from '../../../emulator/cpu/kvm/kvm-backend.js';
import { decodeKvmCpuState, encodeKvmCpuState } from '../../../emulator/cpu/kvm/kvm-state.js';
import type { FlatRange } from '../../../emulator/memory/address-space.js';
import { alignedBytes, kvmSkipNote, kvmUsable, pvm } from './kvm-env.js';

const GUEST = [
  0x66, 0xb8, 0x78, 0x56, 0x34, 0x12, //  mov eax, 0x12345678
  0x66, 0xbb, 0x0d, 0xf0, 0xad, 0x0b, //  mov ebx, 0x0badf00d
  0xdb, 0xe3, //                          fninit
  0xd9, 0xe8, //                          fld1
  0xd9, 0xeb, //                          fldpi
  0x66, 0x50, //                          push eax
  0x66, 0xb9, 0x74, 0x01, 0x00, 0x00, //  mov ecx, 0x174 (IA32_SYSENTER_CS)
  0x66, 0xb8, 0xcd, 0xab, 0x00, 0x00, //  mov eax, 0xabcd
  0x66, 0x31, 0xd2, //                    xor edx, edx
  0x0f, 0x30, //                          wrmsr
  0x66, 0x58, //                          pop eax
  0xe6, 0x80, //                          out 0x80, al     <- checkpoint: the snapshot
  // report: eax, ebx, the x87 top (as a double's high dword), the MSR
  0x66, 0xe7, 0x84, //                    out 0x84, eax
  0x66, 0x89, 0xd8, //                    mov eax, ebx
  0x66, 0xe7, 0x84, //                    out 0x84, eax
  0xdd, 0x1e, 0x00, 0x30, //              fstp qword [0x3000]
  0x66, 0xa1, 0x04, 0x30, //              mov eax, [0x3004]
  0x66, 0xe7, 0x84, //                    out 0x84, eax
  0x0f, 0x32, //                          rdmsr
  0x66, 0xe7, 0x84, //                    out 0x84, eax
  // then change them all
  0x66, 0xb8, 0x99, 0x99, 0x00, 0x00, //  mov eax, 0x9999
  0x0f, 0x30, //                          wrmsr
  0x66, 0x31, 0xdb, //                    xor ebx, ebx
  0xe6, 0x88, //                          out 0x88, al     <- done (a kick: with the kernel irqchip HLT never exits)
  0xf4, //                                hlt
];
const CHECKPOINT_EIP = 0x1000 + GUEST.indexOf(0xe6) + 2;

describe(`KvmCpu: vCPU state snapshots${kvmSkipNote || (pvm ? ' (skipped: PVM /dev/kvm cannot run real-mode x87 code)' : '')}`, () => {
  let cpu: KvmCpu | undefined;
  afterEach(() => { cpu?.close(); cpu = undefined; });

  for (const irqchip of ['userspace', 'kernel'] as const) {
    it.skipIf(!kvmUsable || pvm)(`save at a checkpoint, run on, load, and the guest reports the same again (${irqchip} irqchip)`, () => {
      const size = 0x10000;
      const u8 = alignedBytes(size);
      u8.set(GUEST, 0x1000);
      const ram = { start: 0, end: size, kind: 'ram', regionOffset: 0, readonly: false,
        region: { backing: { block: { name: 'ram', offset: 0, sizeBytes: size }, offset: 0 } } } as unknown as FlatRange;
      let report: number[] = [];
      let done = false;
      const kick = { cpu: undefined as KvmCpu | undefined };
      const ops: VmOps = {
        pioRead: () => 0,
        pioWrite: (port, _sz, v) => {
          if (port === 0x80 || port === 0x88) kick.cpu?.kick();
          if (port === 0x88) done = true;
          if (port === 0x84) report.push(v >>> 0);
        },
        mmioRead: () => 0, mmioWrite: () => {},
      };
      const c = (kick.cpu = cpu = new KvmCpu({
        mem: { u8 }, memoryMap: { flatView: () => [ram], flattenCount: 1 }, ops, irqchip,
        ...(irqchip === 'userspace' ? { interrupts: { hasInterrupt: () => false, acknowledge: () => 0 } } : {}),
      }));
      cpu.setRegs({ cs: 0, ds: 0, ss: 0, esp: 0x8000, eip: 0x1000 });
      /** Runs to the checkpoint's kick, or to the end's. */
      const runTo = (what: 'checkpoint' | 'done'): void => {
        done = false;
        let exit: number = CpuExit.Yield;
        for (let i = 0; i < 1000 && exit === CpuExit.Yield; i++) {
          exit = c.run(10_000);
          if (what === 'done' ? done : c.getRegs().eip === CHECKPOINT_EIP) break;
        }
        expect(c.lastError).toBeUndefined();
        expect(exit).toBe(CpuExit.Yield);
        expect(what === 'done' ? done : c.getRegs().eip === CHECKPOINT_EIP).toBe(true);
      };
      runTo('checkpoint');
      expect(c.getRegs().eip).toBe(CHECKPOINT_EIP);
      const snap = c.saveCpuState();
      expect(snap.msrs.find((m) => m.index === 0x174)?.value).toBe(0xabcdn);
      expect(snap.lapic !== undefined).toBe(irqchip === 'kernel');
      runTo('done');
      const first = report;
      // 0x400921fb: the high dword of pi as a double.
      expect(first.map((x) => x.toString(16))).toEqual(['12345678', 'badf00d', '400921fb', 'abcd']);
      for (const state of [snap, decodeKvmCpuState(JSON.parse(JSON.stringify(encodeKvmCpuState(snap))))]) {
        report = [];
        c.loadCpuState(state);
        expect(c.getRegs().eip).toBe(CHECKPOINT_EIP);
        runTo('done');
        expect(report).toEqual(first);
      }
      // A snapshot of the other irqchip mode is refused with the reason, and changes nothing.
      const other = irqchip === 'kernel' ? (({ lapic: _l, ...rest }) => rest)(snap) : { ...snap, lapic: new Uint8Array(1024) };
      expect(() => c.loadCpuState(other)).toThrow(/in-kernel irqchip/);
    });
  }
});
