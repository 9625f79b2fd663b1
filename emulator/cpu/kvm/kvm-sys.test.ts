import { describe, expect, it } from 'vitest';
import { KVM, KVM_CAP, KVM_EXIT, Layout, entryFailureText, exitReasonName, ioc, sigaddset } from './kvm-sys.js';

// Expected values: sizeof/offsetof/ioctl numbers printed by gcc from <linux/kvm.h> (x86-64, Linux 6.1 UAPI).
describe('kvm-sys layouts match the x86-64 UAPI', () => {
  it('struct sizes', () => {
    expect(Layout.regs.size).toBe(144);
    expect(Layout.segment.size).toBe(24);
    expect(Layout.dtable.size).toBe(16);
    expect(Layout.sregs.size).toBe(312);
    expect(Layout.run.size).toBe(2352);
    expect(Layout.userspaceMemoryRegion.size).toBe(32);
    expect(Layout.cpuid2.size).toBe(8);
    expect(Layout.cpuidEntry2.size).toBe(40);
    expect(Layout.msrs.size).toBe(8);
    expect(Layout.msrEntry.size).toBe(16);
    expect(Layout.fpu.size).toBe(416);
    expect(Layout.irqLevel.size).toBe(8);
    expect(Layout.pitConfig.size).toBe(64);
    expect(Layout.msi.size).toBe(32);
    expect([Layout.irqchip.size, Layout.lapicState.size, Layout.mpState.size, Layout.pitState2.size, Layout.vcpuEvents.size])
      .toEqual([520, 1024, 4, 112, 64]);
    expect([Layout.irqRouting.size, Layout.irqRoutingEntry.size, Layout.enableCap.size]).toEqual([8, 48, 104]);
    expect([Layout.msrList.size, Layout.msrList.indices, Layout.debugregs.size, Layout.xsave.size, Layout.xcrs.size]).toEqual([4, 4, 128, 4096, 392]);
  });
  it('field offsets', () => {
    expect([Layout.regs.r8, Layout.regs.rip, Layout.regs.rflags]).toEqual([64, 128, 136]);
    const g = Layout.segment;
    expect([g.base, g.limit, g.selector, g.type, g.present, g.dpl, g.db, g.s, g.l, g.g, g.avl, g.unusable])
      .toEqual([0, 8, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22]);
    const s = Layout.sregs;
    expect([s.cs, s.ds, s.es, s.fs, s.gs, s.ss, s.tr, s.ldt, s.gdt, s.idt]).toEqual([0, 24, 48, 72, 96, 120, 144, 168, 192, 208]);
    expect([s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer, s.apic_base, s.interrupt_bitmap]).toEqual([224, 232, 240, 248, 256, 264, 272, 280]);
    const r = Layout.run;
    expect([r.request_interrupt_window, r.immediate_exit, r.exit_reason, r.ready_for_interrupt_injection, r.if_flag, r.flags, r.cr8, r.apic_base])
      .toEqual([0, 1, 8, 12, 13, 14, 16, 24]);
    expect([r.io.direction, r.io.size, r.io.port, r.io.count, r.io.data_offset]).toEqual([32, 33, 34, 36, 40]);
    expect([r.mmio.phys_addr, r.mmio.data, r.mmio.len, r.mmio.is_write]).toEqual([32, 40, 48, 52]);
    expect([r.system_event.type, r.system_event.ndata, r.system_event.data]).toEqual([32, 36, 40]);
    expect([r.fail_entry.hardware_entry_failure_reason, r.fail_entry.cpu]).toEqual([32, 40]);
    expect([r.internal.suberror, r.internal.ndata, r.internal.data]).toEqual([32, 36, 40]);
    expect([r.kvm_valid_regs, r.kvm_dirty_regs, r.s]).toEqual([288, 296, 304]);
    const m = Layout.userspaceMemoryRegion;
    expect([m.slot, m.flags, m.guest_phys_addr, m.memory_size, m.userspace_addr]).toEqual([0, 4, 8, 16, 24]);
    const e = Layout.cpuidEntry2;
    expect([e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx]).toEqual([0, 4, 8, 12, 16, 20, 24]);
    expect([Layout.msrs.entries, Layout.msrEntry.data]).toEqual([8, 8]);
    const f = Layout.fpu;
    expect([f.fcw, f.fsw, f.ftwx, f.last_opcode, f.last_ip, f.last_dp, f.xmm, f.mxcsr]).toEqual([128, 130, 132, 134, 136, 144, 152, 408]);
    expect(Layout.irqLevel.level).toBe(4);
    const msi = Layout.msi;
    expect([msi.address_lo, msi.address_hi, msi.data, msi.flags, msi.devid]).toEqual([0, 4, 8, 12, 16]);
    expect([Layout.irqchip.chip, Layout.pitState2.flags, Layout.irqRoutingEntry.type, Layout.irqRoutingEntry.u, Layout.enableCap.args])
      .toEqual([8, 72, 4, 16, 8]);
  });
  it('ioctl numbers', () => {
    const expected: Record<keyof typeof KVM, number> = {
      GET_API_VERSION: 0xae00, CREATE_VM: 0xae01, CHECK_EXTENSION: 0xae03, GET_VCPU_MMAP_SIZE: 0xae04,
      GET_SUPPORTED_CPUID: 0xc008ae05, CREATE_VCPU: 0xae41, SET_USER_MEMORY_REGION: 0x4020ae46, SET_TSS_ADDR: 0xae47,
      SET_IDENTITY_MAP_ADDR: 0x4008ae48, CREATE_IRQCHIP: 0xae60, IRQ_LINE: 0x4008ae61, CREATE_PIT2: 0x4040ae77,
      SIGNAL_MSI: 0x4020aea5, RUN: 0xae80, GET_REGS: 0x8090ae81, SET_REGS: 0x4090ae82, GET_SREGS: 0x8138ae83,
      SET_SREGS: 0x4138ae84, INTERRUPT: 0x4004ae86, GET_MSRS: 0xc008ae88, SET_MSRS: 0x4008ae89, SET_SIGNAL_MASK: 0x4004ae8b,
      GET_FPU: 0x81a0ae8c, SET_FPU: 0x41a0ae8d, SET_CPUID2: 0x4008ae90, NMI: 0xae9a,
      GET_IRQCHIP: 0xc208ae62, SET_IRQCHIP: 0x8208ae63, SET_GSI_ROUTING: 0x4008ae6a, GET_PIT2: 0x8070ae9f, SET_PIT2: 0x4070aea0,
      GET_LAPIC: 0x8400ae8e, SET_LAPIC: 0x4400ae8f, SET_MP_STATE: 0x4004ae99, SET_VCPU_EVENTS: 0x4040aea0,
      ENABLE_CAP: 0x4068aea3, GET_SUPPORTED_HV_CPUID: 0xc008aec1,
      GET_MSR_INDEX_LIST: 0xc004ae02, GET_MP_STATE: 0x8004ae98, GET_VCPU_EVENTS: 0x8040ae9f,
      GET_DEBUGREGS: 0x8080aea1, SET_DEBUGREGS: 0x4080aea2, GET_XSAVE: 0x9000aea4, SET_XSAVE: 0x5000aea5,
      GET_XCRS: 0x8188aea6, SET_XCRS: 0x4188aea7,
    };
    expect({ ...KVM }).toEqual(expected);
    expect(ioc(3, 0xae, 5, 8)).toBe(0xc008ae05);
  });
  it('capability and exit numbers', () => {
    expect(KVM_CAP).toMatchObject({ IRQCHIP: 0, USER_MEMORY: 3, SET_TSS_ADDR: 4, EXT_CPUID: 7, PIT2: 33, SET_IDENTITY_MAP_ADDR: 37, READONLY_MEM: 81, IMMEDIATE_EXIT: 136 });
    expect(KVM_CAP).toMatchObject({ MP_STATE: 14, VCPU_EVENTS: 41, DEBUGREGS: 50, XSAVE: 55, XCRS: 56 });
    expect(KVM_CAP).toMatchObject({ IRQ_ROUTING: 25, HYPERV: 44, SIGNAL_MSI: 77, HYPERV_SYNIC: 123, HYPERV_SYNIC2: 148, HYPERV_CPUID: 167 });
    expect(KVM_EXIT).toMatchObject({ IO: 2, HLT: 5, MMIO: 6, IRQ_WINDOW_OPEN: 7, SHUTDOWN: 8, FAIL_ENTRY: 9, INTR: 10, INTERNAL_ERROR: 17, SYSTEM_EVENT: 24 });
    expect(exitReasonName(9)).toBe('KVM_EXIT_FAIL_ENTRY');
    expect(exitReasonName(99)).toBe('KVM_EXIT_99');
  });
  it('names entry failures of SVM and VMX', () => {
    expect(entryFailureText(0xffff_ffff_ffff_ffffn)).toMatch(/^SVM VMEXIT_INVALID/);
    expect(entryFailureText(0xffff_ffffn)).toMatch(/^SVM VMEXIT_INVALID/);
    expect(entryFailureText(0x8000_0021n)).toBe('VMX entry failure, exit reason 33: invalid guest state');
    expect(entryFailureText(0x8000_0022n)).toBe('VMX entry failure, exit reason 34: MSR loading');
    expect(entryFailureText(7n)).toBe('unknown reason');
  });
  it('sigaddset uses bit signo-1', () => {
    const set = new Uint8Array(8);
    sigaddset(set, 40);
    expect(Array.from(set)).toEqual([0, 0, 0, 0, 0x80, 0, 0, 0]);
  });
});
