/**
 * Parses and validates the options of `vireo run` (a small `qemu-system`). Every error
 * names the option and what was expected.
 */
import { parseArgs } from 'node:util';
import { PC_MAX_CPUS } from '../../emulator/index.js';

/** A drive given with --disk FILE[,format=raw|qcow2]. */
export interface DiskOption {
  path: string;
  format: 'raw' | 'qcow2' | undefined;
  /** Controller, as QEMU's `if=`: ide (default), virtio (virtio-blk) or scsi (virtio-scsi). */
  bus: 'ide' | 'virtio' | 'scsi';
}

/** Validated options of `vireo run`. */
export interface RunOptions {
  memoryBytes: number;
  cpus: number;
  firmware: string | undefined;
  vgaBios: string | undefined;
  cdrom: string | undefined;
  disks: DiskOption[];
  boot: 'cdrom' | 'disk' | undefined;
  serial: string;
  debugcon: string;
  display: 'none';
  screenshot: string | undefined;
  screenText: boolean;
  timeoutSec: number | undefined;
  exitOn: string | undefined;
  deterministic: boolean;
  backend: 'interp' | 'kvm' | 'auto';
  /** KVM only: Hyper-V enlightenments (CPUID "Microsoft Hv"), as QEMU's hv-* flags. */
  hyperv: boolean;
  /** KVM only: interrupt controllers in the kernel (default) or the board's own (debugging). */
  kvmIrqchip: 'kernel' | 'userspace';
  /** User-mode networking through passt (virtio-net), with port forwards; or none. */
  net: { mode: 'none' } | { mode: 'user'; hostfwd: string[] };
  /** Extra virtio devices. */
  devices: Array<'virtio-rng' | 'virtio-balloon' | 'virtio-serial' | 'virtio-tablet'>;
  /** Guest memory size virtio-balloon asks the guest to shrink to (bytes), as QEMU's `balloon`. */
  balloonTargetBytes: number | undefined;
  /** UNIX socket bridged to the guest agent port (`org.qemu.guest_agent.0`). */
  agentSocket: string | undefined;
  /** Where to write the guest profile (emulator/machine/guest-profiler.ts) when the run ends. */
  profile: string | undefined;
}

/** The usage text of `vireo run`. */
export const RUN_USAGE = `usage: vireo run [options]
  --memory SIZE          guest RAM, e.g. 128M, 1G (plain numbers are MiB; default 128M)
  --cpus N               virtual CPUs, 1 to 8 (default 1; several need the interpreter backend)
  --firmware PATH        BIOS image (default: SeaBIOS bios-256k.bin from the search path)
  --vga-bios PATH        VGA option ROM (default: vgabios-stdvga.bin)
  --cdrom FILE           ISO image for the CD-ROM drive
  --disk FILE[,format=raw|qcow2][,if=ide|virtio|scsi]   a hard disk (repeatable; virtio: virtio-blk, scsi: virtio-scsi)
  --boot cdrom|disk      first boot device (default: cdrom if given, else disk)
  --serial stdio|file:PATH|none    COM1 (default none)
  --debugcon stdio|file:PATH|none  debug console ports 0xe9 and 0x402 (default none)
  --display none         no window (the only mode of the headless command)
  --screenshot PATH.png  write the screen as PNG when the run ends
  --screen-text          print the text-mode screen when the run ends
  --timeout SECONDS      stop after this many seconds (exit status 124)
  --exit-on STRING       stop (status 0) 0.1 s after serial or debugcon output contains STRING
  --deterministic        virtual time follows executed instructions (reproducible runs)
  --net none|user[,hostfwd=tcp:[ADDR]:HOSTPORT-:GUESTPORT]...   virtio-net through passt (default none)
  --device virtio-rng|virtio-balloon|virtio-serial|virtio-tablet   add a virtio device (repeatable)
  --balloon SIZE         ask the guest to shrink to SIZE of RAM through virtio-balloon (adds the device)
  --agent-socket PATH    serve the guest agent port org.qemu.guest_agent.0 on UNIX socket PATH (adds virtio-serial)
  --profile PATH         sample where the guest executes (CS:EIP every 50 000 instructions) and write the
                         counts to PATH when the run ends (name them with scripts/guest-profile.mjs)
  --backend interp|kvm|auto        CPU backend (default interp; auto = KVM when /dev/kvm is usable, and says why not)
  --hyperv on|off        KVM: Hyper-V enlightenments for Windows guests (relaxed, vapic, spinlocks, vpindex,
                         runtime, time, synic, stimer, frequencies, tlbflush, ipi; default off)
  --kvm-irqchip kernel|userspace   KVM: interrupt controllers in the kernel (default) or Vireo's own (debugging)
exit status: the guest's isa-debug-exit code, 0 on power-off or --exit-on, 124 on
--timeout, 1 with a message on errors.`;

/** An optional path option: absent stays undefined, an empty value is refused. */
function nonEmpty(value: string | undefined, option: string): string | undefined {
  if (value !== undefined && value.trim() === '') throw new Error(`${option}: expected a file path`);
  return value;
}

/** Parses a memory size: plain numbers are MiB; K/M/G/T suffixes (binary). */
export function parseMemorySize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]i?B?)?$/i.exec(text.trim());
  if (!m) throw new Error(`${option}: expected a size such as 128M or 2G, got "${text}"`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 'M')[0]!.toUpperCase();
  const mult = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[unit as 'K' | 'M' | 'G' | 'T'];
  return Math.round(n * mult);
}

function positiveInt(text: string, option: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${option}: expected a whole number from 1 to ${max}, got "${text}"`);
  return n;
}

function oneOf<T extends string>(text: string, option: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new Error(`${option}: expected one of ${allowed.join(', ')}, got "${text}"`);
}

function parseDisk(spec: string): DiskOption {
  const [file, ...props] = spec.split(',');
  if (!file) throw new Error('--disk: expected FILE[,format=raw|qcow2]');
  let format: DiskOption['format'];
  let bus: DiskOption['bus'] = 'ide';
  for (const p of props) {
    const [k, v] = p.split('=');
    if (k === 'format' && v !== undefined) format = oneOf(v, '--disk format', ['raw', 'qcow2'] as const);
    else if (k === 'if' && v !== undefined) bus = oneOf(v, '--disk if', ['ide', 'virtio', 'scsi'] as const);
    else throw new Error(`--disk: unknown property "${p}" (known: format=raw|qcow2, if=ide|virtio|scsi)`);
  }
  return { path: file, format, bus };
}

function parseNet(spec: string): RunOptions['net'] {
  const [mode, ...props] = spec.split(',');
  if (mode === 'none' && props.length === 0) return { mode: 'none' };
  if (mode !== 'user') throw new Error(`--net: expected none or user[,hostfwd=...], got "${spec}"`);
  const hostfwd: string[] = [];
  for (const p of props) {
    if (p.startsWith('hostfwd=')) hostfwd.push(p.slice('hostfwd='.length));
    else throw new Error(`--net: unknown property "${p}" (known: hostfwd=tcp:[addr]:hostport-:guestport)`);
  }
  return { mode: 'user', hostfwd };
}

/** Parses `vireo run` arguments. Throws Error with a clear message on bad input. */
export function parseRunOptions(argv: string[]): RunOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      memory: { type: 'string' }, m: { type: 'string' },
      cpus: { type: 'string' },
      firmware: { type: 'string' }, 'vga-bios': { type: 'string' },
      cdrom: { type: 'string' }, disk: { type: 'string', multiple: true },
      boot: { type: 'string' },
      serial: { type: 'string' }, debugcon: { type: 'string' },
      display: { type: 'string' },
      screenshot: { type: 'string' }, 'screen-text': { type: 'boolean' },
      timeout: { type: 'string' }, 'exit-on': { type: 'string' },
      deterministic: { type: 'boolean' },
      backend: { type: 'string' },
      hyperv: { type: 'string' },
      'kvm-irqchip': { type: 'string' },
      net: { type: 'string' },
      device: { type: 'string', multiple: true },
      balloon: { type: 'string' },
      'agent-socket': { type: 'string' },
      profile: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}" (see vireo run --help)`);
  const memoryBytes = parseMemorySize(values.memory ?? values.m ?? '128M', '--memory');
  if (memoryBytes < 2 * 1024 * 1024 || memoryBytes > 3 * 1024 ** 3) {
    throw new Error(`--memory: must be between 2M and 3G for the 32-bit machine, got ${values.memory ?? values.m}`);
  }
  if (memoryBytes % 4096 !== 0) throw new Error('--memory: must be a multiple of 4 KiB');
  let timeoutSec: number | undefined;
  if (values.timeout !== undefined) {
    timeoutSec = Number(values.timeout);
    if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new Error(`--timeout: expected a positive number of seconds, got "${values.timeout}"`);
  }
  const disks = (values.disk ?? []).map(parseDisk);
  let balloonTargetBytes: number | undefined;
  if (values.balloon !== undefined) {
    balloonTargetBytes = parseMemorySize(values.balloon, '--balloon');
    if (balloonTargetBytes < 1024 * 1024 || balloonTargetBytes > memoryBytes) {
      throw new Error(`--balloon: must be between 1M and the guest's memory (${memoryBytes / 1024 ** 2}M), got ${values.balloon}`);
    }
  }
  const agentSocket = values['agent-socket'];
  if (agentSocket !== undefined && agentSocket.trim() === '') throw new Error('--agent-socket: expected a socket path');
  const devices = (values.device ?? []).map((d) => oneOf(d, '--device', ['virtio-rng', 'virtio-balloon', 'virtio-serial', 'virtio-tablet'] as const));
  if (balloonTargetBytes !== undefined && !devices.includes('virtio-balloon')) devices.push('virtio-balloon');
  if (agentSocket !== undefined && !devices.includes('virtio-serial')) devices.push('virtio-serial');
  const boot = values.boot === undefined ? undefined : oneOf(values.boot, '--boot', ['cdrom', 'disk'] as const);
  return {
    memoryBytes,
    cpus: values.cpus === undefined ? 1 : positiveInt(values.cpus, '--cpus', PC_MAX_CPUS),
    firmware: values.firmware,
    vgaBios: values['vga-bios'],
    cdrom: values.cdrom,
    disks,
    boot,
    serial: values.serial ?? 'none',
    debugcon: values.debugcon ?? 'none',
    display: oneOf(values.display ?? 'none', '--display', ['none'] as const),
    screenshot: values.screenshot,
    screenText: values['screen-text'] ?? false,
    timeoutSec,
    exitOn: values['exit-on'],
    deterministic: values.deterministic ?? false,
    net: parseNet(values.net ?? 'none'),
    devices,
    balloonTargetBytes,
    agentSocket,
    profile: nonEmpty(values.profile, '--profile'),
    // The interpreter stays the command's default, as TCG is QEMU's: runs and benchmarks are
    // reproducible unless KVM is asked for (the app's VMs default to auto).
    backend: oneOf(values.backend ?? 'interp', '--backend', ['interp', 'kvm', 'auto'] as const),
    hyperv: oneOf(values.hyperv ?? 'off', '--hyperv', ['on', 'off'] as const) === 'on',
    kvmIrqchip: oneOf(values['kvm-irqchip'] ?? 'kernel', '--kvm-irqchip', ['kernel', 'userspace'] as const),
  };
}
