/**
 * Compares a Linux guest's serial output under KVM with the interpreter's boot of the same
 * ISO "modulo timing lines": both are reduced to the lines that must agree, and the lines
 * left out are listed with the reason, so a failing comparison shows what differs and a
 * passing one shows what was not compared.
 *
 * Left out, by reason (each pattern is anchored on the message after the printk timestamp):
 * - timing: calibration results, clocksource choices, BogoMIPS, initcall/quirk durations,
 *   wall-clock stamps, the order of asynchronous probes (input device numbers, and the
 *   order of lines itself: the comparable lines are compared as a multiset);
 * - cpu: the CPU's identity, features, errata and mitigations (KVM passes the host CPU's
 *   through, the interpreter has its own "Vireo Virtual CPU");
 * - hypervisor: KVM's paravirtual interfaces (kvm-clock, PV spinlocks) that only exist on
 *   KVM, as with QEMU+KVM;
 * - irqchip: KVM's in-kernel IOAPIC reports version 0x11 where Vireo's reports 0x20 (QEMU's
 *   own IOAPIC is 0x20 too, its KVM one 0x11);
 * - memory: the kernel's reserved amount (paravirtual pages), the total is compared.
 * - nested: a kernel warning seen only inside the nested QEMU TCG test host ("XSAVE
 *   consistency problem": the guest's XCR0 and its CPUID leaf 0xD disagree there).
 */

/** A left-out line and why. */
export interface SkippedLine {
  readonly reason: 'timing' | 'cpu' | 'hypervisor' | 'nested';
  readonly line: string;
}

const SKIP: ReadonlyArray<{ reason: SkippedLine['reason']; pattern: RegExp }> = [
  { reason: 'timing', pattern: /^(tsc|clocksource|sched_clock|hpet\d*|clockevents?): / },
  { reason: 'timing', pattern: /^hpet: \d+ channels of \d+ reserved for per-cpu timers$/ },
  { reason: 'timing', pattern: /^Calibrating delay loop|BogoMIPS/ },
  { reason: 'timing', pattern: /^APIC calibration not consistent with PM-Timer: |^APIC delta adjusted to PM-Timer: / },
  { reason: 'timing', pattern: /^PM-Timer running at invalid rate: / },
  { reason: 'timing', pattern: /^\S+ [0-9a-f:.]+: \S+\+0x[0-9a-f]+\/0x[0-9a-f]+ took \d+ usecs$/ },
  { reason: 'timing', pattern: /^audit: type=2000 audit\(/ },
  { reason: 'timing', pattern: /^rtc_cmos [0-9a-f:]+: setting system clock to / },
  { reason: 'timing', pattern: /^random: crng init done$/ },
  { reason: 'timing', pattern: /^Freeing unused kernel image .* memory: / },
  { reason: 'cpu', pattern: /^x86\/(fpu|PAT|cpu): |^x86: / },
  { reason: 'cpu', pattern: /^smpboot: CPU0: |^Last level [id]TLB entries: / },
  { reason: 'cpu', pattern: /^(Spectre V[12]|Spectre BHI|Speculative Store Bypass|Speculative Return Stack Overflow|MDS|L1TF|MMIO Stale Data|RETBleed|SRBDS|TAA|GDS|ITS|VMSCAPE|Register File Data Sampling|Transient Scheduler Attacks): / },
  { reason: 'cpu', pattern: /^(process|intel_pstate|mce|microcode|RAPL PMU|Performance Events|AMD-Vi|perf): |^Failed to access perfctr msr / },
  { reason: 'cpu', pattern: /^CPUID\[[0-9a-f]{2}, [0-9a-f]{2}\]: / },
  { reason: 'hypervisor', pattern: /^Hypervisor detected: |^kvm-clock: |^kvm-guest: |^Booting paravirtualized kernel on / },
];

/** Rewrites that keep a line but blank the part that differs for a listed reason. */
const REWRITE: ReadonlyArray<[RegExp, string]> = [
  [/^(IOAPIC\[\d+\]: apic_id \d+, version )\d+(, .*)$/, '$1<irqchip>$2'],
  [/^Memory: \d+K\/(\d+K) available \(.*\)$/, 'Memory: <reserved>/$1 available'],
  [/(\/input\/input)\d+$/, '$1<probe order>'],
];

/** The comparable lines of a serial log (in order) and the lines left out. */
export function comparableSerial(serial: string): { lines: string[]; skipped: SkippedLine[] } {
  const lines: string[] = [];
  const skipped: SkippedLine[] = [];
  let inWarning: string[] | undefined;
  for (const raw of serial.split(/\r?\n/)) {
    let line = raw.replace(/^\[\s*\d+\.\d+\] /, '').trimEnd();
    if (line === '') continue;
    // A kernel WARNING block: left out only if it is the nested host's XSAVE one.
    if (line === '------------[ cut here ]------------') { inWarning = [line]; continue; }
    if (inWarning) {
      inWarning.push(line);
      if (!line.startsWith('---[ end trace')) continue;
      const block = inWarning;
      inWarning = undefined;
      if (block.some((l) => l.startsWith('XSAVE consistency problem'))) skipped.push(...block.map((l) => ({ reason: 'nested' as const, line: l })));
      else lines.push(...block);
      continue;
    }
    const skip = SKIP.find((s) => s.pattern.test(line));
    if (skip) { skipped.push({ reason: skip.reason, line }); continue; }
    for (const [re, to] of REWRITE) line = line.replace(re, to);
    lines.push(line);
  }
  if (inWarning) lines.push(...inWarning);
  return { lines, skipped };
}

/**
 * Compares two serial logs' comparable lines as multisets (asynchronous probes print in
 * either order). Returns '' when they agree, else the lines only one of them has.
 */
export function serialDifference(reference: string, actual: string): string {
  const count = (lines: readonly string[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
    return m;
  };
  const ref = count(comparableSerial(reference).lines);
  const act = count(comparableSerial(actual).lines);
  const only = (a: Map<string, number>, b: Map<string, number>): string[] =>
    [...a].flatMap(([l, n]) => Array<string>(Math.max(0, n - (b.get(l) ?? 0))).fill(l));
  const missing = only(ref, act);
  const extra = only(act, ref);
  if (missing.length === 0 && extra.length === 0) return '';
  return [...missing.map((l) => `- ${l}`), ...extra.map((l) => `+ ${l}`)].join('\n');
}
