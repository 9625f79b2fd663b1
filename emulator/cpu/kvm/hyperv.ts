/**
 * hyperv: the Hyper-V CPUID leaves a Windows guest looks for, built from what KVM can back.
 *
 * Follows the Hyper-V Top Level Functional Specification (TLFS) 6.0b, section 2.4
 * "Hypervisor CPUID leaves": 0x40000000 (vendor "Microsoft Hv", highest leaf), 0x40000001
 * (interface "Hv#1"), 0x40000002 (version), 0x40000003 (features: partition privileges in
 * EAX/EBX, features in EDX), 0x40000004 (implementation recommendations: EAX flags, EBX
 * spinlock retries), 0x40000005 (implementation limits). KVM reports the bits it implements
 * with KVM_GET_SUPPORTED_HV_CPUID (api.rst 4.118); a feature is offered only when every
 * bit it needs is among them, and the dependencies are QEMU's (docs/system/i386/hyperv.rst:
 * synic needs vpindex, stimer needs synic and time).
 *
 * The feature set is virt-manager's for Windows plus the ones QEMU recommends: relaxed,
 * vapic, spinlocks (8191 retries), vpindex, runtime, time, synic, stimer, frequencies,
 * tlbflush, ipi. Pure logic: kvm-backend.ts does the ioctls.
 *
 * Leaves out: reenlightenment, evmcs, crash MSRs, reset, the synthetic debugger, and
 * choosing features one by one (all or nothing, `--hyperv on|off`).
 */

/** One CPUID leaf (sub-leaf 0). */
export interface HypervLeaf {
  fn: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** A Hyper-V enlightenment, named as in QEMU's `hv-*` properties. */
export type HypervFeature = 'relaxed' | 'vapic' | 'spinlocks' | 'vpindex' | 'runtime' | 'time' | 'synic' | 'stimer'
  | 'frequencies' | 'tlbflush' | 'ipi';

/** What Vireo enables with `--hyperv on`, in dependency order. */
export const HYPERV_FEATURES: readonly HypervFeature[] = [
  'relaxed', 'vapic', 'spinlocks', 'vpindex', 'runtime', 'time', 'synic', 'stimer', 'frequencies', 'tlbflush', 'ipi',
];

/** TLFS 2.4: leaf numbers. */
export const HV_CPUID = {
  VENDOR: 0x40000000, INTERFACE: 0x40000001, VERSION: 0x40000002, FEATURES: 0x40000003,
  ENLIGHTENMENT_INFO: 0x40000004, IMPLEMENT_LIMITS: 0x40000005,
} as const;

/** "Microsoft Hv" as CPUID.0x40000000 EBX, ECX, EDX (little-endian ASCII). */
export const MICROSOFT_HV = [0x7263694d, 0x666f736f, 0x76482074] as const;
/** "Hv#1": CPUID.0x40000001.EAX, the Microsoft hypervisor interface. */
export const HV_INTERFACE_HV1 = 0x31237648;
/** The version Vireo reports (QEMU's default, Windows Server 2016: build 14393, 10.0). */
const HV_VERSION = { build: 14393, major: 10, minor: 0 } as const;
/** Spinlock retries before a guest notifies the hypervisor (virt-manager's 8191). */
export const HV_SPINLOCK_RETRIES = 0x1fff;
/** EBX of 0x40000004 when spinlock notification is not recommended. */
const HV_SPINLOCK_NEVER = 0xffffffff;

/** Where a feature's bits live: leaf, register and mask (TLFS 2.4.4 / 2.4.5). */
type Bits = { fn: number; reg: 'eax' | 'ebx' | 'edx'; mask: number };
const F = HV_CPUID.FEATURES;
const R = HV_CPUID.ENLIGHTENMENT_INFO;
/** TLFS 2.4.4: 0x40000003.EAX partition privileges. */
const EAX_VP_RUNTIME = 1 << 0;
const EAX_TIME_REF_COUNT = 1 << 1;
const EAX_SYNIC = 1 << 2;
const EAX_SYNTIMERS = 1 << 3;
const EAX_APIC_ACCESS = 1 << 4;
const EAX_HYPERCALL = 1 << 5;
const EAX_VP_INDEX = 1 << 6;
const EAX_REFERENCE_TSC = 1 << 9;
const EAX_FREQUENCY_MSRS = 1 << 11;
/** 0x40000003.EBX: PostMessages, SignalEvents (needed with SynIC). */
const EBX_POST_MESSAGES = 1 << 4;
const EBX_SIGNAL_EVENTS = 1 << 5;
/** 0x40000003.EDX: frequency MSRs available, direct-mode synthetic timers. */
const EDX_FREQUENCY_MSRS = 1 << 8;
const EDX_STIMER_DIRECT = 1 << 19;
/** TLFS 2.4.5: 0x40000004.EAX recommendations. */
const REC_REMOTE_TLB_FLUSH = 1 << 2;
const REC_APIC_ACCESS = 1 << 3;
const REC_RELAXED_TIMING = 1 << 5;
const REC_CLUSTER_IPI = 1 << 10;
const REC_EX_PROCESSOR_MASKS = 1 << 11;

/** The bits each feature sets (all must be supported), and the features it needs. */
const FEATURE_BITS: Record<HypervFeature, { bits: Bits[]; needs: HypervFeature[] }> = {
  relaxed: { bits: [{ fn: R, reg: 'eax', mask: REC_RELAXED_TIMING }], needs: [] },
  vapic: { bits: [{ fn: F, reg: 'eax', mask: EAX_APIC_ACCESS }, { fn: R, reg: 'eax', mask: REC_APIC_ACCESS }], needs: [] },
  spinlocks: { bits: [], needs: [] },
  vpindex: { bits: [{ fn: F, reg: 'eax', mask: EAX_VP_INDEX }], needs: [] },
  runtime: { bits: [{ fn: F, reg: 'eax', mask: EAX_VP_RUNTIME }], needs: [] },
  time: { bits: [{ fn: F, reg: 'eax', mask: EAX_TIME_REF_COUNT | EAX_REFERENCE_TSC }], needs: [] },
  synic: {
    bits: [{ fn: F, reg: 'eax', mask: EAX_SYNIC }, { fn: F, reg: 'ebx', mask: EBX_POST_MESSAGES | EBX_SIGNAL_EVENTS }],
    needs: ['vpindex'],
  },
  stimer: { bits: [{ fn: F, reg: 'eax', mask: EAX_SYNTIMERS }], needs: ['synic', 'time'] },
  frequencies: { bits: [{ fn: F, reg: 'eax', mask: EAX_FREQUENCY_MSRS }, { fn: F, reg: 'edx', mask: EDX_FREQUENCY_MSRS }], needs: [] },
  tlbflush: { bits: [{ fn: R, reg: 'eax', mask: REC_REMOTE_TLB_FLUSH | REC_EX_PROCESSOR_MASKS }], needs: ['vpindex'] },
  ipi: { bits: [{ fn: R, reg: 'eax', mask: REC_CLUSTER_IPI | REC_EX_PROCESSOR_MASKS }], needs: ['vpindex'] },
};

/** The leaves to give the guest, which features made it, and which KVM could not back. */
export interface HypervPlan {
  leaves: HypervLeaf[];
  enabled: HypervFeature[];
  missing: HypervFeature[];
}

/**
 * Builds CPUID 0x40000000-0x40000005 for `wanted` from KVM's supported Hyper-V leaves
 * (`supported`, by leaf number). Features whose bits KVM lacks, or whose prerequisites
 * are missing, are left out and listed in `missing`. The hypercall page (0x40000003.EAX
 * bit 5) is set whenever any feature is (TLFS 3.13: every enlightenment uses it).
 */
export function hypervCpuidLeaves(supported: ReadonlyMap<number, HypervLeaf>, wanted: readonly HypervFeature[]): HypervPlan {
  const has = (b: Bits): boolean => (((supported.get(b.fn)?.[b.reg] ?? 0) & b.mask) >>> 0) === b.mask >>> 0;
  const enabled: HypervFeature[] = [];
  const missing: HypervFeature[] = [];
  for (const f of HYPERV_FEATURES) {
    if (!wanted.includes(f)) continue;
    const spec = FEATURE_BITS[f];
    if (spec.bits.every(has) && spec.needs.every((n) => enabled.includes(n))) enabled.push(f);
    else missing.push(f);
  }
  const leaf = (fn: number): HypervLeaf => ({ fn, eax: 0, ebx: 0, ecx: 0, edx: 0 });
  const features = leaf(F);
  const recommend = leaf(R);
  recommend.ebx = HV_SPINLOCK_NEVER;
  for (const f of enabled) {
    for (const b of FEATURE_BITS[f].bits) {
      const target = b.fn === F ? features : recommend;
      target[b.reg] = (target[b.reg] | b.mask) >>> 0;
    }
    if (f === 'spinlocks') recommend.ebx = HV_SPINLOCK_RETRIES;
  }
  if (enabled.includes('stimer') && ((supported.get(F)?.edx ?? 0) & EDX_STIMER_DIRECT) !== 0) features.edx |= EDX_STIMER_DIRECT;
  if (enabled.length > 0) features.eax |= EAX_HYPERCALL;
  const limits = supported.get(HV_CPUID.IMPLEMENT_LIMITS);
  const leaves: HypervLeaf[] = [
    { fn: HV_CPUID.VENDOR, eax: HV_CPUID.IMPLEMENT_LIMITS, ebx: MICROSOFT_HV[0], ecx: MICROSOFT_HV[1], edx: MICROSOFT_HV[2] },
    { ...leaf(HV_CPUID.INTERFACE), eax: HV_INTERFACE_HV1 },
    { ...leaf(HV_CPUID.VERSION), eax: HV_VERSION.build, ebx: (HV_VERSION.major << 16) | HV_VERSION.minor },
    features,
    recommend,
    { ...leaf(HV_CPUID.IMPLEMENT_LIMITS), eax: limits?.eax ?? 0, ebx: limits?.ebx ?? 0, ecx: limits?.ecx ?? 0 },
  ];
  for (const l of leaves) for (const r of ['eax', 'ebx', 'ecx', 'edx'] as const) l[r] >>>= 0;
  return { leaves, enabled, missing };
}
