/**
 * kvm-state: a snapshot of one KVM vCPU's architectural state, taken and put back through
 * KVM's get/set ioctls, and its JSON form (for saving a VM later).
 *
 * What a snapshot holds (Documentation/virt/kvm/api.rst, section 4):
 *   4.11/4.13 kvm_regs, kvm_sregs        4.42/4.43 kvm_xsave (or 4.21/4.22 kvm_fpu without KVM_CAP_XSAVE)
 *   4.44/4.45 kvm_xcrs (KVM_CAP_XCRS)    4.32/4.33 kvm_debugregs   4.31/4.32 kvm_vcpu_events
 *   4.38/4.39 kvm_mp_state               4.57/4.58 kvm_lapic_state (in-kernel irqchip only)
 *   4.18/4.19 the MSRs of KVM_GET_MSR_INDEX_LIST (4.3) that this vCPU can read
 * The structures stay opaque byte blobs (layouts in kvm-sys.ts); only the MSRs are a list.
 * They are put back in QEMU's order (kvm_arch_put_registers): registers, XSAVE, XCRs, special
 * registers, MSRs, MP state, local APIC, the TSC deadline MSR (after the APIC, whose write
 * disarms the timer), events, debug registers.
 *
 * Not in a snapshot: the in-kernel 8259/IOAPIC/PIT (VM-wide, not the vCPU's), nested
 * virtualization state, SMM, and the guest's memory and devices (the machine's job).
 */
import { E2BIG, KVM, KVM_CAP, Layout, StructBuf, type Libc } from './kvm-sys.js';

/** The JSON format's version; decodeKvmCpuState refuses others. */
export const KVM_CPU_STATE_VERSION = 1;

/** IA32_TSC_DEADLINE: put back after the local APIC (api.rst 4.58; QEMU kvm_put_tscdeadline_msr). */
const MSR_IA32_TSC_DEADLINE = 0x6e0;
/** kvm_vcpu_events.flags: nmi.pending and sipi_vector are valid (api.rst 4.32). */
const KVM_VCPUEVENT_VALID_NMI_PENDING = 0x1;
const KVM_VCPUEVENT_VALID_SIPI_VECTOR = 0x2;
const EVENTS_FLAGS = 20;

/** One model-specific register. */
export interface KvmMsr {
  readonly index: number;
  readonly value: bigint;
}

/** A vCPU's state as KVM reports it; pass it back to KvmCpu.loadCpuState. */
export interface KvmCpuState {
  readonly version: typeof KVM_CPU_STATE_VERSION;
  /** struct kvm_regs. */
  readonly regs: Uint8Array;
  /** struct kvm_sregs. */
  readonly sregs: Uint8Array;
  /** struct kvm_xsave where KVM has KVM_CAP_XSAVE, else absent. */
  readonly xsave?: Uint8Array;
  /** struct kvm_fpu where KVM lacks KVM_CAP_XSAVE, else absent. */
  readonly fpu?: Uint8Array;
  /** struct kvm_xcrs where KVM has KVM_CAP_XCRS. */
  readonly xcrs?: Uint8Array;
  /** struct kvm_debugregs. */
  readonly debugregs: Uint8Array;
  /** struct kvm_vcpu_events. */
  readonly events: Uint8Array;
  /** kvm_mp_state.mp_state. */
  readonly mpState: number;
  /** struct kvm_lapic_state (in-kernel irqchip only). */
  readonly lapic?: Uint8Array;
  /** The MSRs KVM lists as saveable and this vCPU could read, in list order. */
  readonly msrs: readonly KvmMsr[];
  /** Userspace-irqchip mode only: the vCPU sits in HLT waiting for the board's interrupt. */
  readonly halted: boolean;
}

/** What kvm-state needs of a vCPU: its libc binding, the /dev/kvm and vCPU descriptors. */
export interface KvmVcpuFds {
  readonly c: Libc;
  readonly sysFd: number;
  readonly vcpuFd: number;
  /** The VM has the in-kernel irqchip (then the local APIC is KVM's and part of the state). */
  readonly kernelIrqchip: boolean;
}

/** Sizes every blob of a KvmCpuState must have. */
const BLOB_SIZES = {
  regs: Layout.regs.size, sregs: Layout.sregs.size, xsave: Layout.xsave.size, fpu: Layout.fpu.size,
  xcrs: Layout.xcrs.size, debugregs: Layout.debugregs.size, events: Layout.vcpuEvents.size, lapic: Layout.lapicState.size,
} as const;
type BlobName = keyof typeof BLOB_SIZES;
const REQUIRED_BLOBS: readonly BlobName[] = ['regs', 'sregs', 'debugregs', 'events'];
const OPTIONAL_BLOBS: readonly BlobName[] = ['xsave', 'fpu', 'xcrs', 'lapic'];

function checked(c: Libc, rc: number, what: string): number {
  if (rc < 0) {
    const e = c.errno();
    throw new Error(`${what} failed: ${c.strerror(e)} (errno ${e})`);
  }
  return rc;
}

function hasCap(v: KvmVcpuFds, cap: number): boolean {
  return v.c.ioctlInt(v.sysFd, KVM.CHECK_EXTENSION, cap) > 0;
}

/** The MSR indices KVM can save and restore (KVM_GET_MSR_INDEX_LIST, api.rst 4.3). */
export function saveableMsrIndices(c: Libc, sysFd: number): number[] {
  const probe = new StructBuf(Layout.msrList.size);
  // With nmsrs 0 the kernel answers E2BIG and writes the count it needs.
  if (c.ioctlPtr(sysFd, KVM.GET_MSR_INDEX_LIST, probe.bytes) < 0 && c.errno() !== E2BIG) checked(c, -1, 'KVM_GET_MSR_INDEX_LIST');
  const n = probe.u32(Layout.msrList.nmsrs);
  const list = new StructBuf(Layout.msrList.size + 4 * n);
  list.setU32(Layout.msrList.nmsrs, n);
  checked(c, c.ioctlPtr(sysFd, KVM.GET_MSR_INDEX_LIST, list.bytes), 'KVM_GET_MSR_INDEX_LIST');
  const got = list.u32(Layout.msrList.nmsrs);
  const out: number[] = [];
  for (let i = 0; i < got; i++) out.push(list.u32(Layout.msrList.indices + 4 * i));
  return out;
}

function msrBuffer(entries: readonly KvmMsr[] | readonly number[]): StructBuf {
  const b = new StructBuf(Layout.msrs.size + Layout.msrEntry.size * entries.length);
  b.setU32(Layout.msrs.nmsrs, entries.length);
  entries.forEach((e, i) => {
    const off = Layout.msrs.entries + i * Layout.msrEntry.size;
    if (typeof e === 'number') b.setU32(off + Layout.msrEntry.index, e);
    else {
      b.setU32(off + Layout.msrEntry.index, e.index);
      b.setU64(off + Layout.msrEntry.data, e.value);
    }
  });
  return b;
}

/**
 * Reads `indices` with KVM_GET_MSRS (api.rst 4.18), which stops at the first MSR it cannot
 * read and returns how many it did: those the vCPU lacks (its CPUID hides them) are skipped.
 */
function readMsrs(v: KvmVcpuFds, indices: readonly number[]): KvmMsr[] {
  const out: KvmMsr[] = [];
  let i = 0;
  while (i < indices.length) {
    const rest = indices.slice(i);
    const b = msrBuffer(rest);
    const n = checked(v.c, v.c.ioctlPtr(v.vcpuFd, KVM.GET_MSRS, b.bytes), 'KVM_GET_MSRS');
    for (let k = 0; k < n; k++) {
      const off = Layout.msrs.entries + k * Layout.msrEntry.size;
      out.push({ index: b.u32(off + Layout.msrEntry.index), value: b.big64(off + Layout.msrEntry.data) });
    }
    i += n + 1; // skip the one KVM refused
  }
  return out;
}

/**
 * Writes `msrs` with KVM_SET_MSRS (api.rst 4.19), which stops at the first MSR it refuses.
 * KVM lists some MSRs it then refuses to write in this VM's configuration although they
 * read fine (MSR_KVM_ASYNC_PF_INT without the in-kernel local APIC, for one): a refused MSR
 * that already holds the snapshot's value is skipped; any other refusal is an error.
 */
function writeMsrs(v: KvmVcpuFds, msrs: readonly KvmMsr[]): void {
  let i = 0;
  while (i < msrs.length) {
    const rest = msrs.slice(i);
    const n = checked(v.c, v.c.ioctlPtr(v.vcpuFd, KVM.SET_MSRS, msrBuffer(rest).bytes), 'KVM_SET_MSRS');
    if (n === rest.length) return;
    const refused = rest[n]!;
    const now = readMsrs(v, [refused.index])[0];
    if (now?.value !== refused.value) {
      throw new Error(`KVM_SET_MSRS: KVM refused MSR 0x${refused.index.toString(16)} = 0x${refused.value.toString(16)} ` +
        `(it holds ${now ? `0x${now.value.toString(16)}` : 'nothing readable'}): the snapshot is from a vCPU with other features`);
    }
    i += n + 1;
  }
}

function getBlob(v: KvmVcpuFds, request: number, size: number, what: string): Uint8Array {
  const b = new Uint8Array(size);
  checked(v.c, v.c.ioctlPtr(v.vcpuFd, request, b), what);
  return b;
}

function setBlob(v: KvmVcpuFds, request: number, blob: Uint8Array, what: string): void {
  // The kernel reads the buffer; hand it a private copy so the caller's snapshot stays as it was.
  checked(v.c, v.c.ioctlPtr(v.vcpuFd, request, blob.slice()), what);
}

/** Takes a snapshot of the vCPU (between two KVM_RUN calls). `msrIndices`: saveableMsrIndices(). */
export function saveVcpuState(v: KvmVcpuFds, msrIndices: readonly number[], halted: boolean): KvmCpuState {
  const mp = new StructBuf(Layout.mpState.size);
  checked(v.c, v.c.ioctlPtr(v.vcpuFd, KVM.GET_MP_STATE, mp.bytes), 'KVM_GET_MP_STATE');
  const xsave = hasCap(v, KVM_CAP.XSAVE);
  return {
    version: KVM_CPU_STATE_VERSION,
    regs: getBlob(v, KVM.GET_REGS, Layout.regs.size, 'KVM_GET_REGS'),
    sregs: getBlob(v, KVM.GET_SREGS, Layout.sregs.size, 'KVM_GET_SREGS'),
    ...(xsave ? { xsave: getBlob(v, KVM.GET_XSAVE, Layout.xsave.size, 'KVM_GET_XSAVE') }
      : { fpu: getBlob(v, KVM.GET_FPU, Layout.fpu.size, 'KVM_GET_FPU') }),
    ...(hasCap(v, KVM_CAP.XCRS) ? { xcrs: getBlob(v, KVM.GET_XCRS, Layout.xcrs.size, 'KVM_GET_XCRS') } : {}),
    debugregs: getBlob(v, KVM.GET_DEBUGREGS, Layout.debugregs.size, 'KVM_GET_DEBUGREGS'),
    events: getBlob(v, KVM.GET_VCPU_EVENTS, Layout.vcpuEvents.size, 'KVM_GET_VCPU_EVENTS'),
    mpState: mp.u32(Layout.mpState.mp_state),
    ...(v.kernelIrqchip ? { lapic: getBlob(v, KVM.GET_LAPIC, Layout.lapicState.size, 'KVM_GET_LAPIC') } : {}),
    msrs: readMsrs(v, msrIndices),
    halted,
  };
}

/** Puts a snapshot back (validated first: a malformed one changes nothing). */
export function loadVcpuState(v: KvmVcpuFds, state: KvmCpuState): void {
  const s = validateKvmCpuState(state);
  if (v.kernelIrqchip !== (s.lapic !== undefined)) {
    throw new Error(`KvmCpuState: the snapshot is from a VM ${s.lapic ? 'with' : 'without'} the in-kernel irqchip, this one is ${v.kernelIrqchip ? 'with' : 'without'}`);
  }
  const xsave = hasCap(v, KVM_CAP.XSAVE);
  if (s.xsave && !xsave) throw new Error('KvmCpuState: the snapshot has XSAVE state but this KVM lacks KVM_CAP_XSAVE');
  if (s.xcrs && !hasCap(v, KVM_CAP.XCRS)) throw new Error('KvmCpuState: the snapshot has XCRs but this KVM lacks KVM_CAP_XCRS');
  setBlob(v, KVM.SET_REGS, s.regs, 'KVM_SET_REGS');
  if (s.xsave) setBlob(v, KVM.SET_XSAVE, s.xsave, 'KVM_SET_XSAVE');
  else if (s.fpu) setBlob(v, KVM.SET_FPU, s.fpu, 'KVM_SET_FPU');
  if (s.xcrs) setBlob(v, KVM.SET_XCRS, s.xcrs, 'KVM_SET_XCRS');
  setBlob(v, KVM.SET_SREGS, s.sregs, 'KVM_SET_SREGS');
  writeMsrs(v, s.msrs.filter((m) => m.index !== MSR_IA32_TSC_DEADLINE));
  const mp = new StructBuf(Layout.mpState.size);
  mp.setU32(Layout.mpState.mp_state, s.mpState);
  checked(v.c, v.c.ioctlPtr(v.vcpuFd, KVM.SET_MP_STATE, mp.bytes), 'KVM_SET_MP_STATE');
  if (s.lapic) setBlob(v, KVM.SET_LAPIC, s.lapic, 'KVM_SET_LAPIC');
  writeMsrs(v, s.msrs.filter((m) => m.index === MSR_IA32_TSC_DEADLINE));
  const events = s.events.slice();
  const dv = new DataView(events.buffer);
  dv.setUint32(EVENTS_FLAGS, dv.getUint32(EVENTS_FLAGS, true) | KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR, true);
  setBlob(v, KVM.SET_VCPU_EVENTS, events, 'KVM_SET_VCPU_EVENTS');
  setBlob(v, KVM.SET_DEBUGREGS, s.debugregs, 'KVM_SET_DEBUGREGS');
}

/** Checks a state's shape (version, blob sizes, MSR list); returns it or throws naming the problem. */
export function validateKvmCpuState(s: KvmCpuState): KvmCpuState {
  if (s.version !== KVM_CPU_STATE_VERSION) throw new Error(`KvmCpuState: version ${String(s.version)}, expected ${KVM_CPU_STATE_VERSION}`);
  for (const name of [...REQUIRED_BLOBS, ...OPTIONAL_BLOBS]) {
    const blob = s[name];
    if (blob === undefined && OPTIONAL_BLOBS.includes(name)) continue;
    if (!(blob instanceof Uint8Array)) throw new Error(`KvmCpuState: ${name} is missing`);
    if (blob.length !== BLOB_SIZES[name]) throw new Error(`KvmCpuState: ${name} has ${blob.length} bytes, struct ${name} has ${BLOB_SIZES[name]}`);
  }
  if ((s.xsave === undefined) === (s.fpu === undefined)) throw new Error('KvmCpuState: exactly one of xsave and fpu must be present');
  if (!Number.isInteger(s.mpState) || s.mpState < 0 || s.mpState > 0xffffffff) throw new Error(`KvmCpuState: mpState ${String(s.mpState)} is not a u32`);
  if (!Array.isArray(s.msrs)) throw new Error('KvmCpuState: msrs is not a list');
  for (const m of s.msrs) {
    if (!Number.isInteger(m.index) || m.index < 0 || m.index > 0xffffffff || typeof m.value !== 'bigint' || m.value < 0n || m.value >= 1n << 64n) {
      throw new Error(`KvmCpuState: bad MSR entry ${JSON.stringify({ index: m.index, value: String(m.value) })}`);
    }
  }
  if (typeof s.halted !== 'boolean') throw new Error('KvmCpuState: halted is not a boolean');
  return s;
}

/** The JSON form of a KvmCpuState: blobs as base64, MSR values as hex strings. */
export interface KvmCpuStateJson {
  version: number;
  blobs: Record<string, string>;
  mpState: number;
  msrs: Array<[number, string]>;
  halted: boolean;
}

/** Turns a state into plain JSON data (JSON.stringify-safe). */
export function encodeKvmCpuState(s: KvmCpuState): KvmCpuStateJson {
  const blobs: Record<string, string> = {};
  for (const name of [...REQUIRED_BLOBS, ...OPTIONAL_BLOBS]) {
    const blob = s[name];
    if (blob) blobs[name] = Buffer.from(blob).toString('base64');
  }
  return { version: s.version, blobs, mpState: s.mpState, msrs: s.msrs.map((m) => [m.index, m.value.toString(16)]), halted: s.halted };
}

/** Parses the JSON form back, with a readable error for anything malformed. */
export function decodeKvmCpuState(json: unknown): KvmCpuState {
  if (typeof json !== 'object' || json === null) throw new Error('KvmCpuState JSON: not an object');
  const j = json as Partial<KvmCpuStateJson>;
  if (j.version !== KVM_CPU_STATE_VERSION) throw new Error(`KvmCpuState JSON: version ${String(j.version)}, expected ${KVM_CPU_STATE_VERSION}`);
  if (typeof j.blobs !== 'object' || j.blobs === null) throw new Error('KvmCpuState JSON: blobs missing');
  const blobs = j.blobs;
  const blob = (name: BlobName): Uint8Array | undefined => {
    const b64 = blobs[name];
    if (b64 === undefined) return undefined;
    if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error(`KvmCpuState JSON: ${name} is not base64`);
    return new Uint8Array(Buffer.from(b64, 'base64'));
  };
  if (!Array.isArray(j.msrs)) throw new Error('KvmCpuState JSON: msrs missing');
  const msrs = j.msrs.map((e: unknown): KvmMsr => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'number' || typeof e[1] !== 'string' || !/^[0-9a-f]{1,16}$/.test(e[1])) {
      throw new Error(`KvmCpuState JSON: bad MSR entry ${JSON.stringify(e)}`);
    }
    return { index: e[0], value: BigInt(`0x${e[1]}`) };
  });
  const optional = (name: BlobName): Record<string, Uint8Array> => { const b = blob(name); return b ? { [name]: b } : {}; };
  const state = {
    version: KVM_CPU_STATE_VERSION,
    regs: blob('regs'), sregs: blob('sregs'), debugregs: blob('debugregs'), events: blob('events'),
    ...optional('xsave'), ...optional('fpu'), ...optional('xcrs'), ...optional('lapic'),
    mpState: j.mpState, msrs, halted: j.halted,
  } as KvmCpuState;
  return validateKvmCpuState(state);
}
