/**
 * PcMachine: one complete virtual PC — the pc board, a CPU backend and the run loop — and
 * the host-facing controls (run, pause, resume, stop, reset, serial input, screen).
 *
 * Construction only needs data and injected host services (firmware bytes, timing,
 * output sinks); the machine never touches files, sockets or the wall clock itself, so
 * the same class runs in a worker thread, in the CLI process, or in a test.
 */
import { PcBoard, type VirtioBoardOptions } from '../board/pc.js';
import { InterpCpu } from '../cpu/interp/cpu.js';
import type { CpuBackend } from '../cpu/backend.js';
import { VirtualClock } from '../time/clock.js';
import type { HostTiming } from './host-timing.js';
import { rateLimitedLog } from './rate-limited-log.js';
import { bootOrderPaths, scsiTargets, type AttachedDrive } from './drives.js';
import type { VirtioScsiUnitConfig } from '../devices/virtio/virtio-scsi.js';
import type { GuestProfiler } from './guest-profiler.js';
import { RunLoop, type RunState, type StopReason } from './run-loop.js';
import { SmpCpus } from './smp-cpus.js';

/** The guest agent's port on the virtio-serial device (board/pc.ts: port 0 console, port 1 agent). */
const AGENT_PORT = 1;
/** virtio-balloon counts 4 KiB pages (virtio 1.2 §5.5.6). */
const BALLOON_PAGE_BYTES = 4096;

/** Everything a PcMachine is built from. */
export interface PcMachineOptions {
  memoryBytes: number;
  /**
   * Virtual CPUs (1-8, default 1): interpreter CPUs run round-robin in this thread
   * (smp-cpus.ts); the KVM backend (`createCpu`) runs exactly one.
   */
  cpus?: number;
  /** System BIOS image (SeaBIOS). */
  bios: Uint8Array;
  /** VGA option ROM (vgabios-stdvga.bin), or null for none. */
  vgaBios: Uint8Array | null;
  /** Virtual time from executed instructions instead of host time. */
  deterministic: boolean;
  timing: HostTiming;
  /** Wall-clock time the RTC starts at (the host's "now", read by the caller). */
  rtcStart: Date;
  /** Bytes the guest sends on COM1. */
  serialOut?: (bytes: Uint8Array) => void;
  /** Bytes the guest writes to the debug console ports 0xe9 / 0x402. */
  debugconOut?: (bytes: Uint8Array) => void;
  /** Diagnostics (guest misbehaviour, unimplemented features); rate-limited here. */
  log?: (message: string) => void;
  /** IDE drives with their opened images (see emulator/host/open-drives.ts). */
  drives?: readonly AttachedDrive[];
  /** virtio devices besides disks (disks come from `drives` with bus 'virtio'). */
  virtio?: Omit<VirtioBoardOptions, 'disks'>;
  /** Which kind of drive the firmware tries first (default: the CD-ROM when there is one). */
  boot?: 'cdrom' | 'disk';
  /**
   * Builds another CPU backend for the board (KVM); default: the interpreter. Chosen on the
   * host side (emulator/host/cpu-backend-select.ts), which also supplies `alignWindow`.
   */
  createCpu?: (board: PcBoard) => CpuBackend;
  /** Where guest memory starts in its buffer (see GuestMemory). */
  alignWindow?: (buffer: SharedArrayBuffer) => number;
  /** Called on run-state changes. */
  onState?: (state: RunState) => void;
  /** Samples where the guest executes after every chunk (`vireo run --profile`). */
  profiler?: GuestProfiler;
}

/** A virtual PC. */
export class PcMachine {
  readonly board: PcBoard;
  /** What the run loop drives: the interpreter CPUs as one SmpCpus, or the KVM vCPU. */
  readonly cpu: CpuBackend;
  /** The interpreter CPUs (undefined with KVM). */
  readonly smp: SmpCpus | undefined;
  readonly clock = new VirtualClock();
  private readonly loop: RunLoop;
  private readonly log: (message: string) => void;

  private serialPending: number[] = [];
  private readonly serialIn: number[] = [];

  constructor(private readonly opts: PcMachineOptions) {
    this.log = rateLimitedLog(opts.log ?? (() => {}));
    // The board's callbacks reach the CPU, which is built after the board.
    const late: { cpu?: CpuBackend; smp?: SmpCpus } = {};
    const cpus = opts.cpus ?? 1;
    if (opts.createCpu && cpus !== 1) {
      throw new Error(`${cpus} vCPUs: the KVM backend runs a single vCPU; several CPUs need the interpreter (--backend interp)`);
    }
    this.board = new PcBoard({
      memoryBytes: opts.memoryBytes,
      cpus,
      bios: opts.bios,
      vgaBios: opts.vgaBios,
      clock: this.clock,
      rtcStart: opts.rtcStart,
      drives: (opts.drives ?? []).filter((d) => d.bus === 'ide'),
      virtio: {
        ...opts.virtio,
        disks: (opts.drives ?? []).flatMap((d) => (d.bus === 'virtio' && d.backend ? [{ backend: d.backend }] : [])),
        scsi: scsiUnits(opts.drives ?? []),
      },
      alignWindow: opts.alignWindow,
      bootOrder: bootOrderPaths(opts.drives ?? [], opts.boot ?? ((opts.drives ?? []).some((d) => d.kind === 'cdrom') ? 'cdrom' : 'disk')),
      onAsyncCompletion: () => this.loop?.wake(),
      debugconOut: opts.debugconOut,
      serialOut: opts.serialOut ? (bytes) => this.queueSerial(bytes) : undefined,
      onSerialRxDrained: () => this.pumpSerialInput(),
      onDebugExit: (code) => this.loop.stop({ kind: 'debug-exit', code }),
      onPowerOff: () => this.loop.stop({ kind: 'power-off' }),
      onResetRequest: () => this.loop.requestReset(),
      setA20: (enabled) => late.cpu?.setA20(enabled),
      onNmi: (i) => (late.smp ? late.smp.nmiTo(i) : late.cpu?.nmi()),
      onInit: (i) => (late.smp ? late.smp.init(i) : this.log(`apic: INIT for CPU ${i} ignored (KVM: one vCPU)`)),
      onStartup: (i, v) => (late.smp ? late.smp.startup(i, v) : this.log(`apic: STARTUP 0x${v.toString(16)} for CPU ${i} ignored (KVM: one vCPU)`)),
      onIntr: (level, i) => {
        if (!level) return;
        // Interpreter CPUs poll their INTR at every turn; the KVM vCPU must leave KVM_RUN.
        if (late.smp) late.smp.interruptPending(i);
        else late.cpu?.kick();
        this.loop?.wake();
      },
      log: this.log,
    });
    const board = this.board;
    this.smp = opts.createCpu ? undefined : new SmpCpus(board.lapics.map((lapic, i) => new InterpCpu({
      mem: board.mem,
      physMap: board.physMap,
      ops: board.cpuVmOps(i),
      interrupts: board.router.cpu(i),
      apic: lapic,
      apicId: i,
      // CPUID offers the local APIC with any number of CPUs, as QEMU does: guests use the
      // IO-APIC and MSI/MSI-X (virtio) in APIC mode; several CPUs need it anyway.
      features: { apic: true },
      // A 1 GHz TSC on the same virtual time as the PIT, HPET and PM timer.
      tsc: () => this.clock.nowNs(),
      log: { warn: (m) => this.log(cpus > 1 ? `cpu ${i}: ${m}` : `cpu: ${m}`) },
    })), { log: this.log });
    const smp = this.smp;
    const cpu: CpuBackend = smp ?? opts.createCpu!(board);
    this.cpu = cpu;
    late.cpu = cpu;
    late.smp = smp;
    this.loop = new RunLoop(
      {
        cpu, clock: this.clock, reset: () => this.hardReset(),
        ...(smp ? { clockInstructions: () => smp.clockInstructions, interruptible: () => smp.interruptible() } : {}),
      },
      opts.timing,
      {
        deterministic: opts.deterministic, onState: opts.onState,
        ...(opts.profiler ? { onChunk: (c: CpuBackend) => opts.profiler!.sample(c) } : {}),
        // KVM: the in-kernel timers and the guest TSC follow host time, so the board's timers
        // must too (no stolen-time cut), and each slice is one bounded KVM_RUN stretch so the
        // host's messages and I/O completions get a turn every few ms.
        ...(smp ? {} : { sliceMs: 4, maxRunningStepMs: Infinity }),
      },
    );
    this.hardReset();
  }

  /** Runs until the machine stops; resolves with the reason. Releases the CPU backend's host resources. */
  async run(): Promise<StopReason> {
    try {
      return await this.loop.run();
    } finally {
      this.cpu.close?.();
    }
  }

  /** Pauses at the next slice boundary. */
  pause(): void { this.loop.pause(); }

  /** Resumes a paused machine. */
  resume(): void { this.loop.resume(); }

  /** Stops the machine for good. */
  stop(reason: StopReason): void { this.loop.stop(reason); }

  /** Current run state. */
  get runState(): RunState { return this.loop.runState; }

  /** Guest instructions executed so far (across resets). */
  get instructions(): number { return this.loop.instructions; }

  /**
   * A diagnostic dump for a stuck guest (`vireo run`: SIGUSR2 with VIREO_DEBUG set): run
   * state, virtual time and the next timer, the CPU registers, and every device's state
   * as its snapshot data (interrupt controllers' IRR/ISR/masks, timers, ...).
   */
  debugDump(): string {
    const hex = (v: number): string => (v >>> 0).toString(16);
    const r = this.cpu.getRegs();
    const lines = [
      `run state ${this.runState}, ${this.instructions} instructions, virtual ${(this.clock.nowNs() / 1e6).toFixed(3)} ms ` +
        `(advanced ${(this.clock.advancedNs() / 1e6).toFixed(3)}), next timer ${(this.clock.nextDeadlineNs() / 1e6).toFixed(3)} ms`,
      `cpu ${this.cpu.kind}: eip=${hex(r.eip)} cs=${hex(r.cs)} eflags=${hex(r.eflags)} eax=${hex(r.eax)} ebx=${hex(r.ebx)} ` +
        `ecx=${hex(r.ecx)} edx=${hex(r.edx)} esi=${hex(r.esi)} edi=${hex(r.edi)} esp=${hex(r.esp)} ebp=${hex(r.ebp)} ` +
        `cr0=${hex(r.cr0)} cr3=${hex(r.cr3)} cr4=${hex(r.cr4)}`,
    ];
    for (const d of this.board.devices) {
      const state = JSON.stringify(d.saveState(), (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v));
      lines.push(`${d.id}: ${state.length > 600 ? `${state.slice(0, 600)}...` : state}`);
    }
    return lines.join('\n');
  }

  /** Resets the machine at the next instruction boundary (like pressing the reset button). */
  requestReset(): void { this.loop.requestReset(); }

  /**
   * Presses the ACPI power button (PM1 status PWRBTN; SCI when the guest enabled it).
   * Returns false when the guest has not enabled the event (no ACPI driver yet).
   */
  pressPowerButton(): boolean {
    const notified = this.board.pm.pressPowerButton();
    this.loop.wake();
    return notified;
  }

  /**
   * Sends bytes to the guest agent channel (virtio-serial port `org.qemu.guest_agent.0`).
   * Throws when the machine has no virtio-serial device.
   */
  agentInput(bytes: Uint8Array): void {
    const vs = this.board.virtioSerial;
    if (!vs) throw new Error('this machine has no virtio-serial device (guest agent channel)');
    vs.writeToGuest(AGENT_PORT, bytes);
    this.loop.wake();
  }

  /**
   * Asks the guest to give memory back through virtio-balloon until it has `guestBytes`
   * left, like QEMU's monitor command `balloon <MiB>` (num_pages = (RAM - target) / 4 KiB,
   * virtio 1.2 §5.5.6). Throws when the machine has no balloon or the size is out of range.
   */
  setBalloonTarget(guestBytes: number): void {
    const b = this.board.virtioBalloon;
    if (!b) throw new Error('this machine has no virtio-balloon device');
    if (!Number.isFinite(guestBytes) || guestBytes <= 0 || guestBytes > this.opts.memoryBytes) {
      throw new RangeError(`balloon target ${guestBytes} bytes: must be between 1 and the guest's RAM (${this.opts.memoryBytes})`);
    }
    b.setTargetPages(Math.floor((this.opts.memoryBytes - guestBytes) / BALLOON_PAGE_BYTES));
    this.loop.wake();
  }

  /** Sends bytes to the guest on COM1 (what a user types on the serial console). */
  serialInput(bytes: Uint8Array): void {
    for (const b of bytes) this.serialIn.push(b);
    this.pumpSerialInput();
    this.loop.wake();
  }

  /** Moves queued host bytes into the UART as far as it accepts them (the rest waits for onRxDrained). */
  private pumpSerialInput(): void {
    if (this.serialIn.length === 0) return;
    const taken = this.board.com1.receive(this.serialIn);
    this.serialIn.splice(0, taken);
  }

  /** The VGA text screen as lines of text (empty lines trimmed at the end). */
  screenText(): string {
    return this.board.screenText();
  }

  /** The current screen as a PNG image. */
  screenshotPng(): Uint8Array {
    return this.board.screenshotPng();
  }

  /**
   * Collects serial bytes during a slice and hands them over in one piece once the slice
   * yields (a microtask runs only after the synchronous CPU slice), instead of per byte.
   */
  private queueSerial(bytes: Uint8Array): void {
    if (this.serialPending.length === 0) {
      queueMicrotask(() => {
        const out = Uint8Array.from(this.serialPending);
        this.serialPending = [];
        this.opts.serialOut?.(out);
      });
    }
    for (const b of bytes) this.serialPending.push(b);
  }

  private hardReset(): void {
    this.board.reset();
    this.cpu.reset();
  }
}

/** The virtio-scsi logical units for the machine's SCSI drives: target = order among them, LUN 0. */
function scsiUnits(drives: readonly AttachedDrive[]): VirtioScsiUnitConfig[] {
  const targets = scsiTargets(drives);
  return drives.flatMap((d, i) => (d.bus !== 'scsi' ? [] : [{
    target: targets.get(i)!, lun: 0, kind: d.kind, backend: d.backend,
    ...(d.kind === 'cdrom' ? { readOnly: true } : {}),
  }]));
}

/** Creates a PcMachine (the public factory used by the CLI and the worker). */
export function createPcMachine(opts: PcMachineOptions): PcMachine {
  return new PcMachine(opts);
}
