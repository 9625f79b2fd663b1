/**
 * kvm-sys: the Linux KVM userspace ABI for x86-64 as seen from TypeScript: ioctl numbers,
 * capability and exit-reason constants, byte layouts of the structures we exchange with the
 * kernel, and koffi bindings to the few libc functions a VMM needs.
 *
 * Follows Documentation/virt/kvm/api.rst (section 4 "API description" for every ioctl
 * named below, section 5 "The kvm_run structure") and include/uapi/linux/kvm.h plus
 * arch/x86/include/uapi/asm/kvm.h for the layouts. Every size and offset below was checked
 * against the C headers (`sizeof`/`offsetof` with gcc on Debian 12, Linux 6.1 headers); the
 * unit test pins them so a typo cannot slip in.
 *
 * Structures are handled as plain byte buffers with the offsets in `Layout`, not as koffi
 * struct types: that keeps every FFI call monomorphic (an int fd, an unsigned long request,
 * a byte buffer or an integer), makes the layouts testable without /dev/kvm, and leaves no
 * koffi object outside this file. The kvm_run area is read and written with `memcpy`
 * between its host address and a JS buffer, never through `koffi.view()`, because views of
 * foreign memory are not allowed inside Electron (V8 sandbox).
 *
 * In-kernel irqchip state (KVM_GET/SET_IRQCHIP, _LAPIC, _PIT2, KVM_SET_MP_STATE,
 * KVM_SET_VCPU_EVENTS) is handled as opaque byte blobs: captured at creation, written back
 * on reset; the vCPU state snapshot (kvm-state.ts) moves kvm_xsave/kvm_fpu, kvm_xcrs,
 * kvm_debugregs, kvm_vcpu_events and kvm_mp_state as opaque blobs too. Left out: everything
 * non-x86, SMM, nested state, dirty logging, irqfd/ioeventfd (eventfd is bound for later
 * use), and the 32-bit ABI.
 *
 * Module state: the libc binding is loaded lazily on the first `libc()` call and cached in
 * `cachedLibc` (the only module-level mutable state in emulator/cpu/kvm/); loading koffi is
 * what makes importing this module on a host without it still safe.
 */
import { createRequire } from 'node:module';

/** The KVM API version every current kernel reports (KVM_GET_API_VERSION, api.rst 4.1). */
export const KVM_API_VERSION = 12;

const KVMIO = 0xae;
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;

/** Linux `_IOC(dir, type, nr, size)` (include/uapi/asm-generic/ioctl.h). */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}
const io = (nr: number): number => ioc(IOC_NONE, KVMIO, nr, 0);
const iow = (nr: number, size: number): number => ioc(IOC_WRITE, KVMIO, nr, size);
const ior = (nr: number, size: number): number => ioc(IOC_READ, KVMIO, nr, size);
const iowr = (nr: number, size: number): number => ioc(IOC_READ | IOC_WRITE, KVMIO, nr, size);

/**
 * Byte layouts (size and field offsets) of the x86-64 UAPI structures, named after their
 * C fields. Offsets of nested structures are relative to the enclosing one.
 */
export const Layout = {
  /** struct kvm_regs: rax rbx rcx rdx rsi rdi rsp rbp r8-r15 rip rflags, all __u64. */
  regs: {
    size: 144,
    rax: 0, rbx: 8, rcx: 16, rdx: 24, rsi: 32, rdi: 40, rsp: 48, rbp: 56, r8: 64,
    rip: 128, rflags: 136,
  },
  /** struct kvm_segment. */
  segment: {
    size: 24,
    base: 0, limit: 8, selector: 12, type: 14, present: 15, dpl: 16, db: 17, s: 18, l: 19,
    g: 20, avl: 21, unusable: 22,
  },
  /** struct kvm_dtable. */
  dtable: { size: 16, base: 0, limit: 8 },
  /** struct kvm_sregs. */
  sregs: {
    size: 312,
    cs: 0, ds: 24, es: 48, fs: 72, gs: 96, ss: 120, tr: 144, ldt: 168, gdt: 192, idt: 208,
    cr0: 224, cr2: 232, cr3: 240, cr4: 248, cr8: 256, efer: 264, apic_base: 272,
    interrupt_bitmap: 280,
  },
  /** struct kvm_run: the fixed header and the exit unions we decode (api.rst section 5). */
  run: {
    size: 2352,
    request_interrupt_window: 0, immediate_exit: 1, exit_reason: 8,
    ready_for_interrupt_injection: 12, if_flag: 13, flags: 14, cr8: 16, apic_base: 24,
    /** The exit union starts here. */
    exit: 32,
    io: { direction: 32, size: 33, port: 34, count: 36, data_offset: 40 },
    mmio: { phys_addr: 32, data: 40, len: 48, is_write: 52 },
    system_event: { type: 32, ndata: 36, data: 40 },
    fail_entry: { hardware_entry_failure_reason: 32, cpu: 40 },
    internal: { suberror: 32, ndata: 36, data: 40 },
    kvm_valid_regs: 288, kvm_dirty_regs: 296, s: 304,
  },
  /** struct kvm_userspace_memory_region. */
  userspaceMemoryRegion: { size: 32, slot: 0, flags: 4, guest_phys_addr: 8, memory_size: 16, userspace_addr: 24 },
  /** struct kvm_cpuid2 header (entries follow). */
  cpuid2: { size: 8, nent: 0, entries: 8 },
  /** struct kvm_cpuid_entry2. */
  cpuidEntry2: { size: 40, function: 0, index: 4, flags: 8, eax: 12, ebx: 16, ecx: 20, edx: 24 },
  /** struct kvm_msrs header (entries follow). */
  msrs: { size: 8, nmsrs: 0, entries: 8 },
  /** struct kvm_msr_entry. */
  msrEntry: { size: 16, index: 0, data: 8 },
  /** struct kvm_fpu. */
  fpu: { size: 416, fpr: 0, fcw: 128, fsw: 130, ftwx: 132, last_opcode: 134, last_ip: 136, last_dp: 144, xmm: 152, mxcsr: 408 },
  /** struct kvm_irq_level (irq, then level). */
  irqLevel: { size: 8, irq: 0, level: 4 },
  /** struct kvm_pit_config (flags + 15 pad words). */
  pitConfig: { size: 64, flags: 0 },
  /** struct kvm_msi. */
  msi: { size: 32, address_lo: 0, address_hi: 4, data: 8, flags: 12, devid: 16 },
  /** struct kvm_interrupt. */
  interrupt: { size: 4, irq: 0 },
  /** struct kvm_signal_mask header (the kernel sigset follows; 8 bytes on x86-64). */
  signalMask: { size: 4, len: 0, sigset: 4 },
  /** struct kvm_irqchip (chip_id, pad, then a 512-byte union: PIC or IOAPIC state). */
  irqchip: { size: 520, chip_id: 0, chip: 8 },
  /** struct kvm_lapic_state (the 1 KiB APIC register page). */
  lapicState: { size: 1024 },
  /** struct kvm_mp_state. */
  mpState: { size: 4, mp_state: 0 },
  /** struct kvm_pit_state2 (three 24-byte channel states, then flags). */
  pitState2: { size: 112, flags: 72 },
  /** struct kvm_vcpu_events (all zero: no pending exception, interrupt, NMI or SIPI). */
  vcpuEvents: { size: 64 },
  /** struct kvm_msr_list header (__u32 indices follow). */
  msrList: { size: 4, nmsrs: 0, indices: 4 },
  /** struct kvm_debugregs (db[4], dr6, dr7, flags, reserved[9]). */
  debugregs: { size: 128 },
  /** struct kvm_xsave (the legacy 4 KiB region: the FXSAVE area, header and extended states). */
  xsave: { size: 4096 },
  /** struct kvm_xcrs (nr_xcrs, flags, 16 x {xcr, reserved, value}, padding). */
  xcrs: { size: 392 },
  /** struct kvm_irq_routing header (entries follow). */
  irqRouting: { size: 8, nr: 0, flags: 4, entries: 8 },
  /** struct kvm_irq_routing_entry; `u` holds kvm_irq_routing_irqchip (irqchip, pin) for type IRQCHIP. */
  irqRoutingEntry: { size: 48, gsi: 0, type: 4, flags: 8, u: 16 },
  /** struct kvm_enable_cap. */
  enableCap: { size: 104, cap: 0, flags: 4, args: 8 },
} as const;

/** ioctl request numbers (api.rst section 4; kvm.h). */
export const KVM = {
  // system ioctls
  GET_API_VERSION: io(0x00),
  CREATE_VM: io(0x01),
  GET_MSR_INDEX_LIST: iowr(0x02, Layout.msrList.size),
  CHECK_EXTENSION: io(0x03),
  GET_VCPU_MMAP_SIZE: io(0x04),
  GET_SUPPORTED_CPUID: iowr(0x05, Layout.cpuid2.size),
  // VM ioctls
  CREATE_VCPU: io(0x41),
  SET_USER_MEMORY_REGION: iow(0x46, Layout.userspaceMemoryRegion.size),
  SET_TSS_ADDR: io(0x47),
  SET_IDENTITY_MAP_ADDR: iow(0x48, 8),
  CREATE_IRQCHIP: io(0x60),
  IRQ_LINE: iow(0x61, Layout.irqLevel.size),
  CREATE_PIT2: iow(0x77, Layout.pitConfig.size),
  SIGNAL_MSI: iow(0xa5, Layout.msi.size),
  GET_IRQCHIP: iowr(0x62, Layout.irqchip.size),
  // KVM_SET_IRQCHIP is declared _IOR in kvm.h (a historical quirk); the number must match.
  SET_IRQCHIP: ior(0x63, Layout.irqchip.size),
  SET_GSI_ROUTING: iow(0x6a, Layout.irqRouting.size),
  GET_PIT2: ior(0x9f, Layout.pitState2.size),
  SET_PIT2: iow(0xa0, Layout.pitState2.size),
  // vCPU ioctls
  RUN: io(0x80),
  GET_REGS: ior(0x81, Layout.regs.size),
  SET_REGS: iow(0x82, Layout.regs.size),
  GET_SREGS: ior(0x83, Layout.sregs.size),
  SET_SREGS: iow(0x84, Layout.sregs.size),
  INTERRUPT: iow(0x86, Layout.interrupt.size),
  GET_MSRS: iowr(0x88, Layout.msrs.size),
  SET_MSRS: iow(0x89, Layout.msrs.size),
  SET_SIGNAL_MASK: iow(0x8b, Layout.signalMask.size),
  GET_FPU: ior(0x8c, Layout.fpu.size),
  SET_FPU: iow(0x8d, Layout.fpu.size),
  SET_CPUID2: iow(0x90, Layout.cpuid2.size),
  NMI: io(0x9a),
  GET_LAPIC: ior(0x8e, Layout.lapicState.size),
  SET_LAPIC: iow(0x8f, Layout.lapicState.size),
  GET_MP_STATE: ior(0x98, Layout.mpState.size),
  SET_MP_STATE: iow(0x99, Layout.mpState.size),
  GET_VCPU_EVENTS: ior(0x9f, Layout.vcpuEvents.size),
  SET_VCPU_EVENTS: iow(0xa0, Layout.vcpuEvents.size),
  GET_DEBUGREGS: ior(0xa1, Layout.debugregs.size),
  SET_DEBUGREGS: iow(0xa2, Layout.debugregs.size),
  GET_XSAVE: ior(0xa4, Layout.xsave.size),
  SET_XSAVE: iow(0xa5, Layout.xsave.size),
  GET_XCRS: ior(0xa6, Layout.xcrs.size),
  SET_XCRS: iow(0xa7, Layout.xcrs.size),
  ENABLE_CAP: iow(0xa3, Layout.enableCap.size),
  GET_SUPPORTED_HV_CPUID: iowr(0xc1, Layout.cpuid2.size),
} as const;

/** KVM_CHECK_EXTENSION capability numbers we depend on (kvm.h). */
export const KVM_CAP = {
  IRQCHIP: 0,
  HLT: 1,
  IRQ_ROUTING: 25,
  HYPERV: 44,
  SIGNAL_MSI: 77,
  HYPERV_SYNIC: 123,
  HYPERV_SYNIC2: 148,
  HYPERV_CPUID: 167,
  USER_MEMORY: 3,
  SET_TSS_ADDR: 4,
  EXT_CPUID: 7,
  USER_NMI: 22,
  PIT2: 33,
  SET_IDENTITY_MAP_ADDR: 37,
  READONLY_MEM: 81,
  IMMEDIATE_EXIT: 136,
  MP_STATE: 14,
  VCPU_EVENTS: 41,
  DEBUGREGS: 50,
  XSAVE: 55,
  XCRS: 56,
} as const;

/** kvm_run.exit_reason values (kvm.h). */
export const KVM_EXIT = {
  UNKNOWN: 0, EXCEPTION: 1, IO: 2, HYPERCALL: 3, DEBUG: 4, HLT: 5, MMIO: 6,
  IRQ_WINDOW_OPEN: 7, SHUTDOWN: 8, FAIL_ENTRY: 9, INTR: 10, SET_TPR: 11, TPR_ACCESS: 12,
  NMI: 16, INTERNAL_ERROR: 17, SYSTEM_EVENT: 24,
} as const;

/** Readable name of a KVM_EXIT_* reason. */
export function exitReasonName(reason: number): string {
  for (const [name, value] of Object.entries(KVM_EXIT)) if (value === reason) return `KVM_EXIT_${name}`;
  return `KVM_EXIT_${reason}`;
}

/**
 * What kvm_run.fail_entry.hardware_entry_failure_reason means. SVM reports the VMCB exit
 * code, VMEXIT_INVALID (-1) when VMRUN's consistency checks reject the guest state (AMD APM
 * vol. 2, 15.5.1); VMX reports the exit reason with bit 31 set, basic reasons 33 (invalid
 * guest state), 34 (MSR loading) and 41 (machine-check event) (Intel SDM vol. 3C, 27.8 and
 * appendix C).
 */
export function entryFailureText(reason: bigint): string {
  // KVM hands over the VMCB's 32-bit exit code (0xffffffff) or, on some kernels, the 64-bit one.
  if (reason === 0xffff_ffff_ffff_ffffn || reason === 0xffff_ffffn) return 'SVM VMEXIT_INVALID: the guest state fails VMRUN\'s consistency checks';
  const basic = Number(reason & 0xffffn);
  const vmx: Readonly<Record<number, string>> = { 33: 'invalid guest state', 34: 'MSR loading', 41: 'machine-check event' };
  if (vmx[basic] !== undefined) return `VMX entry failure, exit reason ${basic}: ${vmx[basic]}`;
  return 'unknown reason';
}

/** KVM_INTERNAL_ERROR_* sub-errors (kvm.h). */
export const KVM_INTERNAL_ERROR: Readonly<Record<number, string>> = {
  1: 'EMULATION (KVM could not emulate an instruction)',
  2: 'SIMUL_EX (exception while delivering an exception)',
  3: 'DELIVERY_EV (event delivery failed)',
  4: 'UNEXPECTED_EXIT_REASON',
};

/** kvm_run.system_event.type values (api.rst 5, KVM_EXIT_SYSTEM_EVENT). */
export const KVM_SYSTEM_EVENT = { SHUTDOWN: 1, RESET: 2, CRASH: 3 } as const;

/** kvm_run.io.direction. */
export const KVM_EXIT_IO_IN = 0;
/** kvm_run.io.direction. */
export const KVM_EXIT_IO_OUT = 1;
/** kvm_userspace_memory_region.flags: the slot is read-only; writes exit as MMIO. */
export const KVM_MEM_READONLY = 1 << 1;
/** kvm_pit_config.flags: the PIT speaker port is emulated in the kernel too. */
export const KVM_PIT_SPEAKER_DUMMY = 1;
/** kvm_pit_state2.flags: the HPET drives IRQ0 in legacy replacement mode, the in-kernel PIT's output is muted. */
export const KVM_PIT_FLAGS_HPET_LEGACY = 1;
/** kvm_irq_routing_entry.type: a pin of an in-kernel interrupt controller. */
export const KVM_IRQ_ROUTING_IRQCHIP = 1;
/** kvm_irq_routing_irqchip.irqchip / kvm_irqchip.chip_id values. */
export const KVM_IRQCHIP = { PIC_MASTER: 0, PIC_SLAVE: 1, IOAPIC: 2 } as const;
/** kvm_mp_state.mp_state: the vCPU runs (not halted, not waiting for SIPI). */
export const KVM_MP_STATE_RUNNABLE = 0;
/** KVM_GET_SUPPORTED_CPUID: entries the ioctl may return at most on current kernels. */
export const KVM_MAX_CPUID_ENTRIES = 256;

/** open(2) and mmap(2) constants (x86-64 Linux). */
export const O_RDWR = 2;
/** @see O_RDWR */
export const O_CLOEXEC = 0o2000000;
/** @see O_RDWR */
export const PROT_READ = 1;
/** @see O_RDWR */
export const PROT_WRITE = 2;
/** @see O_RDWR */
export const MAP_SHARED = 1;
/** errno values we name in messages. */
export const ENOENT = 2;
/** @see ENOENT */
export const EINTR = 4;
/** @see ENOENT */
export const EACCES = 13;
/** @see ENOENT */
export const EPERM = 1;
/** @see ENOENT */
export const EAGAIN = 11;
/** @see ENOENT */
export const E2BIG = 7;

/** Linux signal plumbing for bounding KVM_RUN (timer_create(2), sigtimedwait(2)). */
export const SIG_BLOCK = 0;
/** @see SIG_BLOCK */
export const SIGEV_THREAD_ID = 4;
/** @see SIG_BLOCK */
export const CLOCK_MONOTONIC = 1;
/** clock_gettime(2): CPU time of the calling thread (guest time in KVM_RUN counts, sleeping in HLT does not). */
export const CLOCK_THREAD_CPUTIME_ID = 3;
/** glibc's sigset_t (the kernel's is 8 bytes, the ABI type 128). */
export const SIGSET_BYTES = 128;
/** The kernel's sigset size, what KVM_SET_SIGNAL_MASK expects in `len`. */
export const KERNEL_SIGSET_BYTES = 8;
/** struct sigevent: size and offsets (glibc x86-64). */
export const SIGEVENT = { size: 64, sigev_signo: 8, sigev_notify: 12, tid: 16 } as const;

/**
 * The libc functions the KVM backend calls, typed at the boundary. Pointers into host
 * memory are bigints (addresses); buffers passed as `Uint8Array` are pinned for the call.
 * Every function returns the raw C result; read `errno()` right after a failure.
 */
export interface Libc {
  open(path: string, flags: number): number;
  close(fd: number): number;
  /** ioctl with a pointer argument (a struct buffer) or none (`null`). */
  ioctlPtr(fd: number, request: number, arg: Uint8Array | null): number;
  /** ioctl with an integer argument. */
  ioctlInt(fd: number, request: number, arg: number | bigint): number;
  /** mmap(2); returns the address, or -1n (MAP_FAILED). */
  mmap(addr: bigint, length: number, prot: number, flags: number, fd: number, offset: number): bigint;
  munmap(addr: bigint, length: number): number;
  eventfd(initval: number, flags: number): number;
  /** Copies `length` bytes from host address `src` into `dest`. */
  copyFromHost(dest: Uint8Array, src: bigint, length: number): void;
  /** Copies `length` bytes from `src` to host address `dest`. */
  copyToHost(dest: bigint, src: Uint8Array, length: number): void;
  /** Host address of a typed array's first byte (works for SharedArrayBuffer views). */
  addressOf(bytes: Uint8Array): bigint;
  /** errno of the last failed call on this thread. */
  errno(): number;
  strerror(errnum: number): string;
  gettid(): number;
  pthreadSigmask(how: number, set: Uint8Array, old: Uint8Array | null): number;
  /** sigtimedwait(2) with `timeout` as a struct timespec (16 bytes). */
  sigtimedwait(set: Uint8Array, info: Uint8Array | null, timeout: Uint8Array): number;
  /** timer_create(2): writes the timer_t (8 bytes) into `timerId`. */
  timerCreate(clockId: number, sigevent: Uint8Array, timerId: Uint8Array): number;
  /** timer_settime(2) with struct itimerspec buffers (32 bytes). */
  timerSettime(timerId: bigint, flags: number, value: Uint8Array, old: Uint8Array | null): number;
  timerDelete(timerId: bigint): number;
  /** clock_gettime(2) into a struct timespec (16 bytes). */
  clockGettime(clockId: number, ts: Uint8Array): number;
}

/** The lazily loaded binding (see the module header: the only module-level mutable state). */
let cachedLibc: Libc | undefined;

/** Minimal shape of the koffi module, typed here so no `any` leaves this file. */
interface KoffiFunction { (...args: unknown[]): unknown }
interface KoffiLib { func(name: string, result: string, params: string[]): KoffiFunction }
interface KoffiModule {
  load(path: string): KoffiLib;
  address(value: unknown): bigint;
  errno(): number;
}

/**
 * Loads koffi and binds libc on first use. Throws a readable error if koffi cannot load
 * (its prebuilt binary is missing for this platform).
 */
export function libc(): Libc {
  if (cachedLibc) return cachedLibc;
  const require = createRequire(import.meta.url);
  let koffi: KoffiModule;
  try {
    koffi = require('koffi') as KoffiModule;
  } catch (e) {
    throw new Error(`KVM backend: cannot load koffi (${(e as Error).message})`);
  }
  const lib = koffi.load('libc.so.6');
  const f = (name: string, result: string, params: string[]): KoffiFunction => lib.func(name, result, params);
  // ioctl is variadic in C; on x86-64 SysV a fixed 3-argument prototype is call-compatible.
  const open = f('open', 'int', ['str', 'int', 'int']);
  const close = f('close', 'int', ['int']);
  const ioctlPtr = f('ioctl', 'int', ['int', 'unsigned long', 'void *']);
  const ioctlInt = f('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']);
  // Addresses cross as uint64_t, which is call-compatible with pointers on x86-64 SysV.
  const mmap = f('mmap', 'uint64_t', ['uint64_t', 'size_t', 'int', 'int', 'int', 'int64_t']);
  const munmap = f('munmap', 'int', ['uint64_t', 'size_t']);
  const eventfd = f('eventfd', 'int', ['unsigned int', 'int']);
  const memcpyIn = f('memcpy', 'uint64_t', ['void *', 'uint64_t', 'size_t']);
  const memcpyOut = f('memcpy', 'uint64_t', ['uint64_t', 'void *', 'size_t']);
  const strerror = f('strerror', 'str', ['int']);
  const gettid = f('gettid', 'int', []);
  const sigmask = f('pthread_sigmask', 'int', ['int', 'void *', 'void *']);
  const sigtimedwait = f('sigtimedwait', 'int', ['void *', 'void *', 'void *']);
  const timerCreate = f('timer_create', 'int', ['int', 'void *', 'void *']);
  const timerSettime = f('timer_settime', 'int', ['uint64_t', 'int', 'void *', 'void *']);
  const timerDelete = f('timer_delete', 'int', ['uint64_t']);
  const clockGettime = f('clock_gettime', 'int', ['int', 'void *']);
  const num = (v: unknown): number => Number(v);
  const big = (v: unknown): bigint => BigInt(v as number | bigint);
  cachedLibc = {
    open: (path, flags) => num(open(path, flags, 0)),
    close: (fd) => num(close(fd)),
    ioctlPtr: (fd, request, arg) => num(ioctlPtr(fd, request, arg)),
    ioctlInt: (fd, request, arg) => num(ioctlInt(fd, request, arg)),
    mmap: (addr, length, prot, flags, fd, offset) => BigInt.asIntN(64, big(mmap(addr, length, prot, flags, fd, offset))),
    munmap: (addr, length) => num(munmap(addr, length)),
    eventfd: (initval, flags) => num(eventfd(initval, flags)),
    copyFromHost: (dest, src, length) => { memcpyIn(dest, src, length); },
    copyToHost: (dest, src, length) => { memcpyOut(dest, src, length); },
    addressOf: (bytes) => big(koffi.address(bytes)),
    errno: () => koffi.errno(),
    strerror: (errnum) => String(strerror(errnum)),
    gettid: () => num(gettid()),
    pthreadSigmask: (how, set, old) => num(sigmask(how, set, old)),
    sigtimedwait: (set, info, timeout) => num(sigtimedwait(set, info, timeout)),
    timerCreate: (clockId, sigevent, timerId) => num(timerCreate(clockId, sigevent, timerId)),
    timerSettime: (timerId, flags, value, old) => num(timerSettime(timerId, flags, value, old)),
    timerDelete: (timerId) => num(timerDelete(timerId)),
    clockGettime: (clockId, ts) => num(clockGettime(clockId, ts)),
  };
  return cachedLibc;
}

/**
 * Bytes to skip at the start of `buffer` so that a view from there starts at a
 * page-aligned host address (V8 puts large backing stores 16 bytes into an mmap'd chunk).
 * This is what a GuestMemory window for KVM must start at.
 */
export function hostPageOffset(buffer: SharedArrayBuffer): number {
  const base = libc().addressOf(new Uint8Array(buffer));
  return Number((4096n - (base % 4096n)) % 4096n);
}

/** A zeroed buffer with a little-endian DataView, for building ioctl arguments. */
export class StructBuf {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }
  u8(off: number): number { return this.dv.getUint8(off); }
  u16(off: number): number { return this.dv.getUint16(off, true); }
  u32(off: number): number { return this.dv.getUint32(off, true); }
  /** A __u64 as a number (exact below 2^53, which covers every address and register we use). */
  u64(off: number): number { return Number(this.dv.getBigUint64(off, true)); }
  big64(off: number): bigint { return this.dv.getBigUint64(off, true); }
  setU8(off: number, v: number): void { this.dv.setUint8(off, v); }
  setU16(off: number, v: number): void { this.dv.setUint16(off, v, true); }
  setU32(off: number, v: number): void { this.dv.setUint32(off, v >>> 0, true); }
  setU64(off: number, v: number | bigint): void { this.dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true); }
}

/** Sets signal `signo` (1-based) in a sigset buffer (glibc or kernel layout: bit signo-1). */
export function sigaddset(set: Uint8Array, signo: number): void {
  const bit = signo - 1;
  set[bit >> 3] = set[bit >> 3]! | (1 << (bit & 7));
}
