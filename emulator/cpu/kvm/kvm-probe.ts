/**
 * kvm-probe: can this host run the KVM backend? Answers with a reason a user can act on.
 *
 * Follows Documentation/virt/kvm/api.rst 4.1 (KVM_GET_API_VERSION: "applications should
 * refuse to run if KVM_GET_API_VERSION returns a value other than 12") and 4.4
 * (KVM_CHECK_EXTENSION on the system fd). The capabilities required are the ones
 * KvmCpu relies on unconditionally (see REQUIRED_CAPS).
 *
 * Leaves out: checking that KVM_CREATE_VM actually succeeds (it can still fail, e.g. when
 * another hypervisor owns VT-x/SVM; KvmCpu reports that as its own error), and CPU vendor
 * checks.
 */
import { EACCES, ENOENT, EPERM, KVM, KVM_API_VERSION, KVM_CAP, O_CLOEXEC, O_RDWR, libc } from './kvm-sys.js';

/** Result of `probeKvm`. */
export type KvmProbeResult = { usable: true } | { usable: false; reason: string };

/** Capabilities KvmCpu needs, with the name printed when one is missing. */
export const REQUIRED_CAPS: ReadonlyArray<{ name: string; cap: number }> = [
  { name: 'KVM_CAP_USER_MEMORY', cap: KVM_CAP.USER_MEMORY },
  { name: 'KVM_CAP_SET_TSS_ADDR', cap: KVM_CAP.SET_TSS_ADDR },
  { name: 'KVM_CAP_EXT_CPUID', cap: KVM_CAP.EXT_CPUID },
  { name: 'KVM_CAP_IRQCHIP', cap: KVM_CAP.IRQCHIP },
  { name: 'KVM_CAP_PIT2', cap: KVM_CAP.PIT2 },
  { name: 'KVM_CAP_READONLY_MEM', cap: KVM_CAP.READONLY_MEM },
  { name: 'KVM_CAP_IMMEDIATE_EXIT', cap: KVM_CAP.IMMEDIATE_EXIT },
  { name: 'KVM_CAP_SET_IDENTITY_MAP_ADDR', cap: KVM_CAP.SET_IDENTITY_MAP_ADDR },
];

/** The system calls the probe makes, injectable for tests. */
export interface KvmProbeSys {
  /** open(path, O_RDWR | O_CLOEXEC): a fd, or -errno. */
  open(path: string): number;
  close(fd: number): void;
  /** ioctl(fd, request, arg) with an integer argument: the result, or -errno. */
  ioctl(fd: number, request: number, arg: number): number;
}

/** The real system calls through libc. */
export function hostProbeSys(): KvmProbeSys {
  const c = libc();
  const neg = (rc: number): number => (rc < 0 ? -c.errno() : rc);
  return {
    open: (path) => neg(c.open(path, O_RDWR | O_CLOEXEC)),
    close: (fd) => { c.close(fd); },
    ioctl: (fd, request, arg) => neg(c.ioctlInt(fd, request, arg)),
  };
}

/** Checks /dev/kvm (or `path`) without creating a VM. Never throws for a host condition. */
export function probeKvm(sys?: KvmProbeSys, path = '/dev/kvm'): KvmProbeResult {
  let s: KvmProbeSys;
  try {
    s = sys ?? hostProbeSys();
  } catch (e) {
    return { usable: false, reason: (e as Error).message };
  }
  const fd = s.open(path);
  if (fd === -ENOENT) return { usable: false, reason: `no ${path} (KVM module not loaded or not supported)` };
  if (fd === -EACCES || fd === -EPERM) return { usable: false, reason: `permission denied on ${path}: add your user to the kvm group` };
  if (fd < 0) return { usable: false, reason: `cannot open ${path} (errno ${-fd})` };
  try {
    const version = s.ioctl(fd, KVM.GET_API_VERSION, 0);
    if (version !== KVM_API_VERSION) {
      return { usable: false, reason: `KVM API version ${version}, expected ${KVM_API_VERSION}` };
    }
    const missing = REQUIRED_CAPS.filter((c) => s.ioctl(fd, KVM.CHECK_EXTENSION, c.cap) <= 0).map((c) => c.name);
    if (missing.length > 0) return { usable: false, reason: `KVM lacks required capabilities: ${missing.join(', ')}` };
    return { usable: true };
  } finally {
    s.close(fd);
  }
}
