/**
 * The VM supervisor: one emulator worker thread per running VM.
 *
 * - Starts a worker (`machineWorkerUrl`) from the VM's configuration ({@link workerConfigFor}),
 *   validates every message it posts with `WorkerToHost`, and tracks the run state
 *   (starting / running / paused / stopping / stopped / crashed) with a reason.
 * - A worker that exits unexpectedly, throws, or posts a malformed message marks its VM
 *   `crashed` with the reason; nothing of it reaches the host process.
 * - Force off terminates the worker. `stop` is the worker's clean stop of the machine at the
 *   next slice (used when the host closes). `shutdown` is the user's graceful shut down: the
 *   ACPI power button, then waiting for the guest to power off; a guest that does not react
 *   within the shutdown timeout stays running with {@link SHUTDOWN_NO_RESPONSE}.
 * - `changeCdrom` swaps a CD-ROM medium of the running machine (worker `cdrom-change`).
 * - Screenshots and screen text are requests with a timeout.
 * - Per VM it keeps a short ring of CPU samples (from the worker's `stats` plus the
 *   worker thread's event-loop utilization) and a bounded serial history, streamed to
 *   subscribers. The history survives the VM stopping and is cleared on the next start.
 * - Screen viewers (`openVnc`): RFB byte streams relayed between each viewer and the RFB
 *   server inside the worker, one connection id per viewer. A viewer that sends garbage is
 *   closed by the worker; the VM and the other viewers carry on.
 * - Serial pseudo-terminal: a VM whose config has `serial.pty` on gets a host pty for the
 *   run's lifetime ({@link openSerialPty}, opened at start, closed when the run ends however
 *   it ends). Guest output goes to the in-app consoles and to the pty; bytes written to the
 *   pty's slave are guest input like the console's. `serialPtyOf` tells its path, or why
 *   there is none (the VM runs either way).
 * - `close()` stops every worker (gracefully, then by force).
 */
import { Worker } from 'node:worker_threads';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { machineWorkerUrl } from '../../emulator/index.js';
import {
  ApiError, VM_STATS_MAX_SAMPLES, WorkerToHost, describeZodError,
  type HostToWorker, type SerialPtyInfo, type VmConfig, type VmRunState, type VmStats, type VmStatsSample,
  type WorkerMachineConfig, type WorkerStopReason,
} from '../../protocol/index.js';
import { ByteRing } from './byte-ring.js';
import { openSerialPty, type SerialPty, type SerialPtyOpenResult, type SerialPtyOptions } from './serial-pty.js';

/** Default serial history kept per VM. */
export const DEFAULT_SERIAL_HISTORY_BYTES = 256 * 1024;
/** Default number of CPU samples kept per VM (one a second: a minute). */
export const DEFAULT_STATS_SAMPLES = 60;

/** The part of a worker thread the supervisor uses (node:worker_threads Worker). */
export type SupervisedWorker = Pick<Worker, 'postMessage' | 'on' | 'terminate' | 'performance'>;

/** Something that happened to a VM under supervision. */
export type SupervisorEvent =
  | { kind: 'state'; id: string; state: VmRunState; stateReason?: string }
  | { kind: 'stats'; stats: VmStats };

/** Callbacks of one serial console subscriber. */
export interface SerialHandlers {
  /** Bytes the guest wrote to its serial port (live, after the history). */
  onData(bytes: Uint8Array): void;
  /** The session ended on the host side (the VM was deleted or the host is closing). */
  onClose?(reason: string): void;
}

/** One open serial console. */
export interface SerialSession {
  /** What the guest wrote before the session opened (at most the history size). */
  readonly history: Uint8Array;
  /** Sends bytes to the guest's serial port; dropped unless the VM is running or paused. */
  write(bytes: Uint8Array): void;
  /** Ends the session (no more onData). */
  close(): void;
}

/** Callbacks of one screen viewer (an RFB client relayed to the worker's RFB server). */
export interface VncHandlers {
  /** RFB bytes from the server for this viewer. */
  onData(bytes: Uint8Array): void;
  /** The connection ended on the host or worker side (bad client message, VM stopped, ...). */
  onClose(reason: string): void;
}

/** One open screen viewer connection. */
export interface VncSession {
  /** RFB bytes from the viewer (any chunking); dropped after close. */
  write(bytes: Uint8Array): void;
  /** Ends the connection (no onClose call for it). */
  close(): void;
}

/** Options for {@link VmSupervisor}. */
export interface VmSupervisorOptions {
  /** Worker entry (default: the emulator's `machineWorkerUrl`; tests pass the built one). */
  workerUrl?: URL;
  /** Creates a worker thread (default `new Worker(url)`); tests wrap it to reach the worker. */
  createWorker?: (url: URL) => SupervisedWorker;
  /** Names a VM in messages, e.g. `VM "Debian"` (default: the name it was last started with, else `VM <id>`). */
  describeVm?: (id: string) => string;
  /** Serial history per VM in bytes (default 256 KiB). */
  serialHistoryBytes?: number;
  /** CPU samples kept per VM (default 60). */
  statsSamples?: number;
  /** How long a start may take before the VM is marked crashed (default 60 s). */
  startTimeoutMs?: number;
  /** How long a graceful stop may take before the VM is forced off (default 30 s). */
  stopTimeoutMs?: number;
  /** How long a guest may take to power off after the ACPI power button (`shutdown`, default 60 s). */
  shutdownTimeoutMs?: number;
  /** How long pause, resume, screenshot and screen text may take (default 15 s). */
  requestTimeoutMs?: number;
  /** Receives the worker's log lines (default: printed when VIREO_DEBUG is set). */
  log?: (id: string, message: string) => void;
  /** Opens a VM's serial pseudo-terminal (default {@link openSerialPty}; tests substitute it). */
  openSerialPty?: (options: SerialPtyOptions) => SerialPtyOpenResult;
}

/**
 * The worker configuration for a VM: memory, CPUs and firmware (found along the default
 * search path). Drives, boot order and network are not passed yet; the worker config grows
 * with the emulator. Throws ApiError('unsupported') for settings the emulator cannot run yet.
 */
export function workerConfigFor(vm: VmConfig): WorkerMachineConfig {
  if (vm.firmware === 'uefi') {
    throw new ApiError('unsupported', `firmware: VM "${vm.name}" uses UEFI, which this build cannot boot yet; choose BIOS`);
  }
  const drives: WorkerMachineConfig['drives'] = [];
  for (const d of vm.drives) {
    // SCSI drives sit on the virtio-scsi HBA (disks and CD-ROMs); virtio means virtio-blk.
    const bus = d.bus === 'ide' ? {} : { bus: d.bus };
    if (d.kind === 'cdrom') {
      if (d.bus === 'virtio') throw new ApiError('bad-request', `drives: VM "${vm.name}" has a CD-ROM on virtio-blk (${d.path || d.id}); CD-ROMs sit on IDE or SCSI`);
      drives.push({ kind: 'cdrom', path: d.path === '' ? null : d.path, ...bus });
    } else {
      if (d.format === 'iso') throw new ApiError('bad-request', `drives: "${d.path}" is an ISO image attached as a disk; attach it as a CD-ROM`);
      drives.push({ kind: 'disk', path: d.path, format: d.format, readOnly: d.readOnly, ...bus });
    }
  }
  const first = vm.bootOrder.find((b) => b === 'cdrom' || b === 'disk');
  const vnc = vm.display?.vnc;
  if (vnc?.enabled && !vnc.password) {
    throw new ApiError('bad-request', `display.vnc.password: VM "${vm.name}" enables the VNC listener without a password`);
  }
  // The NIC Vireo emulates is virtio-net; e1000/rtl8139 are not emulated yet, so such a VM runs without one.
  const net = vm.network.mode === 'user' && vm.network.model === 'virtio' ? 'user' as const : 'none' as const;
  // `auto`: the worker takes KVM when /dev/kvm is usable (not PVM, one vCPU) and says why not
  // otherwise; `kvm` asks for KVM, and the worker refuses to start with the reason when it is unusable.
  const backend = vm.backend;
  // Hyper-V enlightenments for Windows guests under KVM, as virt-manager's Windows defaults.
  const hyperv = isWindowsOs(vm.os.id);
  return {
    memoryBytes: vm.memoryMiB * 1024 * 1024, cpus: vm.cpus, deterministic: false, backend, hyperv, drives, net, portForwards: [], virtioExtras: true, tablet: vm.input?.tablet ?? true, name: vm.name,
    ...(first ? { boot: first } : {}),
    ...(vnc?.enabled && vnc.password ? { vnc: { port: vnc.port, password: vnc.password } } : {}),
  };
}

/** Whether an OS id (Vireo's presets or osinfo-db) names Windows: win10, win2k22, http://microsoft.com/win/11, ... */
export function isWindowsOs(osId: string): boolean {
  return /^win/i.test(osId) || /microsoft\.com\/win/i.test(osId);
}

/** Human-readable text for a worker stop reason. */
export function describeStopReason(reason: WorkerStopReason): string {
  switch (reason.kind) {
    case 'power-off': return 'The guest powered off';
    case 'debug-exit': return `The guest exited through isa-debug-exit with code ${reason.code}`;
    case 'requested': return reason.detail === 'stop' ? 'Shut down' : `Stopped (${reason.detail})`;
    case 'halted-forever': return 'The guest halted with interrupts disabled; nothing can wake it';
    case 'error': return `The emulator stopped with an error: ${reason.message}`;
  }
}

/** What `shutdown` says when the guest ignores the ACPI power button. */
export const SHUTDOWN_NO_RESPONSE = 'The guest did not respond to the ACPI power button; use Force off';

interface PendingRequest {
  kind: 'screenshot' | 'screen-text' | 'cdrom-change';
  resolve(value: Uint8Array | string): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** One worker thread's life: from creation to exit. */
interface WorkerRun {
  worker: SupervisedWorker;
  /** The exit is ours (force off, stop completed, crash handled): not a crash. */
  exitExpected: boolean;
  pending: Map<number, PendingRequest>;
  /** Open screen viewers by connection id. */
  vnc: Map<number, VncHandlers>;
  /** Port of the TCP VNC listener, once it listens. */
  vncPort: number | null;
  /** The serial pseudo-terminal of this run, when the config asks for one and it opened. */
  pty: SerialPty | null;
  /** What `serialPtyOf` reports for this run (undefined: the config does not ask for a pty). */
  ptyInfo: SerialPtyInfo | undefined;
  last: { instructions: number; atPerfMs: number; elu: EventLoopUtilization };
  /** The CPU backend the worker reported (null until it says), and why. */
  backend: 'interp' | 'kvm' | null;
  backendReason: string | null;
}

interface StateWaiter {
  done(state: VmRunState): boolean;
  settle(state: VmRunState, reason: string | undefined): void;
}

/** Supervision state of one VM (kept while the VM exists, running or not). */
interface VmSession {
  id: string;
  /** The name the VM was last started with (for messages). */
  name: string | undefined;
  state: VmRunState;
  reason: string | undefined;
  run: WorkerRun | undefined;
  serial: ByteRing;
  subscribers: Set<SerialHandlers>;
  samples: VmStatsSample[];
  waiters: Set<StateWaiter>;
}

const ACTIVE: ReadonlySet<VmRunState> = new Set(['starting', 'running', 'paused', 'stopping']);

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs VMs in emulator workers and tracks their state. */
export class VmSupervisor {
  private readonly sessions = new Map<string, VmSession>();
  private readonly listeners = new Set<(e: SupervisorEvent) => void>();
  private readonly liveWorkers = new Map<SupervisedWorker, Promise<void>>();
  private readonly workerUrl: URL;
  private readonly createWorker: (url: URL) => SupervisedWorker;
  private readonly describeVm: (id: string) => string;
  private readonly serialHistoryBytes: number;
  private readonly statsSamples: number;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly log: (id: string, message: string) => void;
  private readonly openPty: (options: SerialPtyOptions) => SerialPtyOpenResult;
  private nextRequestId = 1;
  private nextVncConnId = 1;
  private closing = false;

  /** Creates an idle supervisor. */
  constructor(options: VmSupervisorOptions = {}) {
    this.workerUrl = options.workerUrl ?? machineWorkerUrl;
    this.createWorker = options.createWorker ?? ((url) => new Worker(url));
    this.describeVm = options.describeVm ?? ((id) => {
      const name = this.sessions.get(id)?.name;
      return name === undefined ? `VM ${id}` : `VM "${name}"`;
    });
    this.serialHistoryBytes = options.serialHistoryBytes ?? DEFAULT_SERIAL_HISTORY_BYTES;
    this.statsSamples = Math.min(options.statsSamples ?? DEFAULT_STATS_SAMPLES, VM_STATS_MAX_SAMPLES);
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.openPty = options.openSerialPty ?? openSerialPty;
    this.log = options.log ?? ((id, message) => { if (process.env['VIREO_DEBUG']) console.error(`vireo: ${id}: ${message}`); });
  }

  // ====== queries ======

  /** Run state of VM `id` (a VM never started is `stopped`). */
  stateOf(id: string): { state: VmRunState; stateReason?: string } {
    const s = this.sessions.get(id);
    if (!s) return { state: 'stopped' };
    return s.reason === undefined ? { state: s.state } : { state: s.state, stateReason: s.reason };
  }

  /** The CPU backend VM `id`'s worker runs on, while it has one; else null. */
  backendInUseOf(id: string): 'interp' | 'kvm' | null {
    const s = this.sessions.get(id);
    return s?.run && ACTIVE.has(s.state) ? s.run.backend : null;
  }

  /** Why VM `id`'s worker runs the backend it does, while it has one; else null. */
  backendReasonOf(id: string): string | null {
    const s = this.sessions.get(id);
    return s?.run && ACTIVE.has(s.state) ? s.run.backendReason : null;
  }

  /**
   * While VM `id` has a worker and its config asks for `serial.pty`: the pseudo-terminal's
   * path, or why there is none. Otherwise null.
   */
  serialPtyOf(id: string): SerialPtyInfo | null {
    const s = this.sessions.get(id);
    return s?.run && ACTIVE.has(s.state) ? s.run.ptyInfo ?? null : null;
  }

  /** True while VM `id` has a worker (starting, running, paused or stopping). */
  isActive(id: string): boolean {
    return ACTIVE.has(this.stateOf(id).state);
  }

  /** The latest CPU samples of VM `id`, oldest first. */
  statsOf(id: string): VmStats {
    const samples = [...(this.sessions.get(id)?.samples ?? [])];
    return { id, instructionsPerSec: samples.at(-1)?.instructionsPerSec ?? 0, samples };
  }

  /** Subscribes to state and stats events; returns the unsubscribe function. */
  on(listener: (e: SupervisorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  // ====== lifecycle ======

  /** Starts VM `vm`; resolves once the machine runs. Rejects (state stopped or crashed, with the reason) if it cannot. */
  async start(vm: VmConfig): Promise<void> {
    if (this.closing) throw new ApiError('conflict', `${this.describeVm(vm.id)}: the host is shutting down`);
    const s = this.session(vm.id);
    s.name = vm.name;
    if (ACTIVE.has(s.state)) throw new ApiError('conflict', `${this.describeVm(vm.id)} is already ${s.state}`);
    const config = workerConfigFor(vm);
    s.serial.clear();
    s.samples = [];
    let worker: SupervisedWorker;
    try {
      worker = this.createWorker(this.workerUrl);
    } catch (err) {
      this.setState(s, 'crashed', `The emulator worker could not be created: ${errorText(err)}`);
      throw new ApiError('internal', `${this.describeVm(vm.id)}: the emulator worker could not be created: ${errorText(err)}`);
    }
    const run: WorkerRun = {
      worker, exitExpected: false, pending: new Map(), vnc: new Map(), vncPort: null, pty: null, ptyInfo: undefined, backend: null, backendReason: null,
      last: { instructions: 0, atPerfMs: performance.now(), elu: worker.performance.eventLoopUtilization() },
    };
    s.run = run;
    let exited!: () => void;
    this.liveWorkers.set(worker, new Promise<void>((resolve) => { exited = resolve; }));
    worker.on('message', (raw: unknown) => this.onMessage(s, run, raw));
    worker.on('error', (err: Error) => this.crash(s, run, `The emulator failed: ${err.message}`));
    worker.on('messageerror', (err: Error) => this.crash(s, run, `A message from the emulator could not be decoded: ${err.message}`));
    worker.on('exit', (code: number) => {
      this.liveWorkers.delete(worker);
      exited();
      if (!run.exitExpected) this.crash(s, run, `The emulator worker exited unexpectedly (exit code ${code})`);
    });
    if (vm.serial?.pty) this.attachPty(s, run);
    this.setState(s, 'starting', undefined);
    this.post(s, run, { type: 'start', config });
    await this.waitFor(s, (st) => st === 'running', this.startTimeoutMs, 'start', () => {
      this.crash(s, run, `The emulator did not start within ${this.startTimeoutMs / 1000} s`);
    });
  }

  /**
   * Shuts VM `id` down gracefully and resolves once it has stopped; forces it off if it
   * has not stopped within the stop timeout. (Today: the worker's `stop`. Later: the ACPI
   * power button, letting the guest shut down.)
   */
  async stop(id: string): Promise<void> {
    const s = this.session(id);
    if (s.state === 'stopping') {
      await this.waitFor(s, (st) => st === 'stopped', this.stopTimeoutMs, 'stop', () => this.terminate(s, 'Did not shut down in time; forced off'));
      return;
    }
    const run = this.requireRun(s, ['running', 'paused'], 'shut down');
    this.post(s, run, { type: 'stop' });
    this.setState(s, 'stopping', undefined);
    await this.waitFor(s, (st) => st === 'stopped', this.stopTimeoutMs, 'stop', () => {
      this.terminate(s, `Did not shut down within ${this.stopTimeoutMs / 1000} s; forced off`);
    });
  }

  /**
   * Graceful shut down (virt-manager's "Shut Down"): presses the ACPI power button and
   * waits for the guest to power off (stopping, then stopped). A paused VM is resumed
   * first. If the guest has not powered off within the shutdown timeout, the VM goes back
   * to running with the reason {@link SHUTDOWN_NO_RESPONSE} and this resolves to
   * 'no-response' (nothing is forced: Force off is the user's call).
   */
  async shutdown(id: string): Promise<'stopped' | 'no-response'> {
    const s = this.session(id);
    if (s.state === 'stopped' || s.state === 'crashed') {
      throw new ApiError('conflict', `${this.describeVm(id)} is ${s.state}; cannot shut it down (needs: running or paused)`);
    }
    if (s.state === 'stopping') {
      await this.waitFor(s, (st) => st === 'stopped', this.shutdownTimeoutMs, 'shut down');
      return 'stopped';
    }
    const run = this.requireRun(s, ['running', 'paused'], 'shut down');
    if (s.state === 'paused') this.post(s, run, { type: 'resume' });
    this.post(s, run, { type: 'power-button' });
    this.setState(s, 'stopping', 'Shutting down: the ACPI power button was pressed');
    let timedOut = false;
    try {
      await this.waitFor(s, (st) => st === 'stopped', this.shutdownTimeoutMs, 'shut down', () => {
        timedOut = true;
        if (s.run === run && s.state === 'stopping') this.setState(s, 'running', SHUTDOWN_NO_RESPONSE);
      });
    } catch (err) {
      if (timedOut && s.run === run) return 'no-response';
      throw err;
    }
    return 'stopped';
  }

  /**
   * Changes the medium of CD-ROM `slot` (index in the worker config's drives) of the
   * running or paused VM `id`: `path` an ISO image, or null to eject. Resolves once the
   * worker confirms; rejects with its error (the old medium stays).
   */
  async changeCdrom(id: string, slot: number, path: string | null): Promise<void> {
    const s = this.session(id);
    const run = this.requireRun(s, ['running', 'paused'], 'change the CD-ROM of');
    const requestId = this.nextRequestId++;
    await new Promise<Uint8Array | string>((resolve, reject) => {
      const timer = setTimeout(() => {
        run.pending.delete(requestId);
        reject(new ApiError('internal', `${this.describeVm(id)}: the emulator did not confirm the CD-ROM change within ${this.requestTimeoutMs / 1000} s`));
      }, this.requestTimeoutMs);
      run.pending.set(requestId, { kind: 'cdrom-change', resolve, reject, timer });
      try {
        this.post(s, run, { type: 'cdrom-change', requestId, slot, path });
      } catch (err) {
        clearTimeout(timer);
        run.pending.delete(requestId);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Pulls the plug on VM `id`: terminates its worker. Resolves once the worker is gone. */
  async forceOff(id: string): Promise<void> {
    const s = this.session(id);
    this.requireRun(s, ['starting', 'running', 'paused', 'stopping'], 'force off');
    await this.terminate(s, 'Forced off');
  }

  /** Pauses a running VM; resolves once paused. */
  async pause(id: string): Promise<void> {
    const s = this.session(id);
    if (s.state === 'paused') return;
    const run = this.requireRun(s, ['running'], 'pause');
    this.post(s, run, { type: 'pause' });
    await this.waitFor(s, (st) => st === 'paused', this.requestTimeoutMs, 'pause');
  }

  /** Resumes a paused VM; resolves once running. */
  async resume(id: string): Promise<void> {
    const s = this.session(id);
    if (s.state === 'running') return;
    const run = this.requireRun(s, ['paused'], 'resume');
    this.post(s, run, { type: 'resume' });
    await this.waitFor(s, (st) => st === 'running', this.requestTimeoutMs, 'resume');
  }

  /** Presses the reset button of a running or paused VM. */
  async reset(id: string): Promise<void> {
    const s = this.session(id);
    const run = this.requireRun(s, ['running', 'paused'], 'reset');
    this.post(s, run, { type: 'reset' });
  }

  /** The VM's screen as PNG bytes. */
  async screenshot(id: string): Promise<Uint8Array> {
    const png = await this.request(id, 'screenshot');
    if (!(png instanceof Uint8Array)) throw new ApiError('internal', `${this.describeVm(id)}: the screenshot answer was not bytes`);
    return png;
  }

  /** The VM's text-mode screen. */
  async screenText(id: string): Promise<string> {
    const text = await this.request(id, 'screen-text');
    if (typeof text !== 'string') throw new ApiError('internal', `${this.describeVm(id)}: the screen-text answer was not text`);
    return text;
  }

  /**
   * Presses a key chord on the guest's keyboard: `keys` (set-1 scan codes) down in order,
   * then up in reverse, e.g. Ctrl+Alt+Del = [0x1D, 0x38, 0xE053].
   */
  async sendKeys(id: string, keys: readonly number[]): Promise<void> {
    const s = this.session(id);
    const run = this.requireRun(s, ['running', 'paused'], 'send keys to');
    this.post(s, run, { type: 'send-keys', keys: [...keys] });
  }

  /** The bound port of VM `id`'s TCP VNC listener, or null (none configured, not yet listening, stopped). */
  vncPortOf(id: string): number | null {
    return this.sessions.get(id)?.run?.vncPort ?? null;
  }

  // ====== screen (RFB) ======

  /**
   * Opens a screen viewer connection to VM `id`, which must be running or paused
   * (otherwise ApiError 'conflict'). The worker's RFB server speaks first (ProtocolVersion);
   * `handlers.onData` receives the server's bytes, `write` carries the viewer's.
   */
  openVnc(id: string, handlers: VncHandlers): VncSession {
    const s = this.session(id);
    const run = this.requireRun(s, ['running', 'paused'], 'show the screen of');
    const connId = this.nextVncConnId++;
    run.vnc.set(connId, handlers);
    this.post(s, run, { type: 'rfb-open', connId });
    const open = (): boolean => s.run === run && run.vnc.get(connId) === handlers;
    return {
      write: (bytes) => {
        if (!open() || bytes.length === 0) return;
        const data = Uint8Array.from(bytes);
        try {
          run.worker.postMessage({ type: 'rfb-data', connId, data } satisfies HostToWorker, [data.buffer]);
        } catch (err) {
          this.crash(s, run, `Could not send "rfb-data" to the emulator: ${errorText(err)}`);
        }
      },
      close: () => {
        if (!open()) return;
        run.vnc.delete(connId);
        this.post(s, run, { type: 'rfb-close', connId });
      },
    };
  }

  // ====== serial console ======

  /**
   * Opens a serial console on VM `id` (running or not): the history so far, then live
   * bytes through `handlers.onData`; `write` types into the guest's COM1.
   */
  openSerial(id: string, handlers: SerialHandlers): SerialSession {
    const s = this.session(id);
    s.subscribers.add(handlers);
    let open = true;
    return {
      history: s.serial.snapshot(),
      write: (bytes) => {
        if (!open || bytes.length === 0) return;
        const run = s.run;
        if (!run || (s.state !== 'running' && s.state !== 'paused')) return;
        this.post(s, run, { type: 'serial-in', data: Uint8Array.from(bytes) });
      },
      close: () => {
        open = false;
        s.subscribers.delete(handlers);
      },
    };
  }

  /** Forgets VM `id` (it was deleted): ends its serial sessions. It must not be active. */
  forget(id: string): void {
    const s = this.sessions.get(id);
    if (!s || ACTIVE.has(s.state)) return;
    this.sessions.delete(id);
    for (const sub of [...s.subscribers]) sub.onClose?.(`${this.describeVm(id)} was deleted`);
    s.subscribers.clear();
  }

  // ====== test hooks ======

  /**
   * Test-only: terminates VM `id`'s worker without telling the supervisor, as if the thread
   * had died. The VM must then show `crashed`.
   */
  killWorkerForTest(id: string): void {
    const s = this.session(id);
    const run = this.requireRun(s, ['starting', 'running', 'paused', 'stopping'], 'kill');
    void run.worker.terminate();
  }

  // ====== shutdown ======

  /** Stops every VM (gracefully, then by force) and waits for every worker to exit. */
  async close(): Promise<void> {
    this.closing = true;
    const active = [...this.sessions.values()].filter((s) => s.run);
    await Promise.all(active.map(async (s) => {
      try {
        if (s.state === 'running' || s.state === 'paused' || s.state === 'stopping') await this.stop(s.id);
        else await this.terminate(s, 'The host shut down');
      } catch {
        await this.terminate(s, 'The host shut down');
      }
    }));
    for (const w of this.liveWorkers.keys()) void w.terminate();
    await Promise.all([...this.liveWorkers.values()]);
    for (const s of this.sessions.values()) {
      for (const sub of [...s.subscribers]) sub.onClose?.('the host shut down');
      s.subscribers.clear();
    }
    this.listeners.clear();
  }

  // ====== internals ======

  private session(id: string): VmSession {
    let s = this.sessions.get(id);
    if (!s) {
      s = {
        id, name: undefined, state: 'stopped', reason: undefined, run: undefined, serial: new ByteRing(this.serialHistoryBytes),
        subscribers: new Set(), samples: [], waiters: new Set(),
      };
      this.sessions.set(id, s);
    }
    return s;
  }

  private requireRun(s: VmSession, allowed: VmRunState[], action: string): WorkerRun {
    if (!s.run || !allowed.includes(s.state)) {
      throw new ApiError('conflict', `${this.describeVm(s.id)} is ${s.state}; cannot ${action} it (needs: ${allowed.join(' or ')})`);
    }
    return s.run;
  }

  private emit(e: SupervisorEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        console.error(`vireo: supervisor listener failed: ${errorText(err)}`);
      }
    }
  }

  private setState(s: VmSession, state: VmRunState, reason: string | undefined): void {
    if (s.state === state && s.reason === reason) return;
    s.state = state;
    s.reason = reason;
    this.emit(reason === undefined ? { kind: 'state', id: s.id, state } : { kind: 'state', id: s.id, state, stateReason: reason });
    for (const w of [...s.waiters]) w.settle(state, reason);
  }

  /**
   * Waits until the VM reaches a state `done` accepts. Rejects if it ends up stopped or
   * crashed instead, or after `timeoutMs` (after calling `onTimeout`).
   */
  private waitFor(s: VmSession, done: (st: VmRunState) => boolean, timeoutMs: number, action: string, onTimeout?: () => void): Promise<void> {
    if (done(s.state)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: StateWaiter = {
        done,
        settle: (state, reason) => {
          if (done(state)) {
            finish();
            resolve();
          } else if (state === 'stopped' || state === 'crashed') {
            finish();
            reject(new ApiError('internal', `${this.describeVm(s.id)}: ${action} failed: ${state}${reason ? ` (${reason})` : ''}`));
          }
        },
      };
      const timer = setTimeout(() => {
        finish();
        onTimeout?.();
        if (done(s.state)) resolve();
        else reject(new ApiError('internal', `${this.describeVm(s.id)}: ${action} did not complete within ${timeoutMs / 1000} s (now ${s.state})`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        s.waiters.delete(waiter);
      };
      s.waiters.add(waiter);
    });
  }

  private post(s: VmSession, run: WorkerRun, msg: HostToWorker): void {
    try {
      run.worker.postMessage(msg);
    } catch (err) {
      this.crash(s, run, `Could not send "${msg.type}" to the emulator: ${errorText(err)}`);
      throw new ApiError('internal', `${this.describeVm(s.id)}: could not send "${msg.type}" to the emulator: ${errorText(err)}`);
    }
  }

  private request(id: string, kind: 'screenshot' | 'screen-text'): Promise<Uint8Array | string> {
    const s = this.session(id);
    const run = this.requireRun(s, ['running', 'paused'], kind === 'screenshot' ? 'take a screenshot of' : 'read the screen of');
    const requestId = this.nextRequestId++;
    return new Promise<Uint8Array | string>((resolve, reject) => {
      const timer = setTimeout(() => {
        run.pending.delete(requestId);
        reject(new ApiError('internal', `${this.describeVm(id)}: ${kind} got no answer within ${this.requestTimeoutMs / 1000} s`));
      }, this.requestTimeoutMs);
      run.pending.set(requestId, { kind, resolve, reject, timer });
      try {
        this.post(s, run, { type: kind, requestId });
      } catch (err) {
        clearTimeout(timer);
        run.pending.delete(requestId);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Opens the run's serial pseudo-terminal; its bytes become guest input while the VM runs. */
  private attachPty(s: VmSession, run: WorkerRun): void {
    const opened = this.openPty({
      onInput: (bytes) => {
        if (s.run !== run || (s.state !== 'running' && s.state !== 'paused')) return;
        try {
          this.post(s, run, { type: 'serial-in', data: bytes });
        } catch {
          // post() has marked the VM crashed, which closes the pty
        }
      },
    });
    if (opened.ok) {
      run.pty = opened.pty;
      run.ptyInfo = { path: opened.pty.path };
      this.log(s.id, `serial port on ${opened.pty.path}`);
    } else {
      run.ptyInfo = { error: opened.error };
      console.error(`vireo: ${this.describeVm(s.id)}: ${opened.error}`);
    }
  }

  private closeViewers(s: VmSession, run: WorkerRun, reason: string): void {
    const viewers = [...run.vnc.values()];
    run.vnc.clear();
    for (const v of viewers) {
      try {
        v.onClose(reason);
      } catch (err) {
        console.error(`vireo: screen viewer of ${this.describeVm(s.id)} failed: ${errorText(err)}`);
      }
    }
  }

  private failPending(run: WorkerRun, reason: string): void {
    for (const [requestId, p] of run.pending) {
      clearTimeout(p.timer);
      run.pending.delete(requestId);
      p.reject(new ApiError('internal', reason));
    }
  }

  /** Ends the run: detaches it from the session, fails pending requests, sets the final state. */
  private endRun(s: VmSession, run: WorkerRun, state: 'stopped' | 'crashed', reason: string): void {
    run.exitExpected = true;
    if (s.run === run) s.run = undefined;
    this.failPending(run, `${this.describeVm(s.id)}: ${reason}`);
    this.closeViewers(s, run, reason);
    run.pty?.close();
    run.pty = null;
    this.setState(s, state, reason);
  }

  /** Marks the VM crashed (once per run) and makes sure the worker is gone. */
  private crash(s: VmSession, run: WorkerRun, reason: string): void {
    if (s.run !== run) return;
    this.endRun(s, run, 'crashed', reason);
    void run.worker.terminate();
  }

  /** Terminates the VM's worker on purpose; resolves once it is gone. */
  private async terminate(s: VmSession, reason: string): Promise<void> {
    const run = s.run;
    if (!run) return;
    this.endRun(s, run, 'stopped', reason);
    await run.worker.terminate();
  }

  private onMessage(s: VmSession, run: WorkerRun, raw: unknown): void {
    if (s.run !== run) return; // a worker we have already let go of
    const parsed = WorkerToHost.safeParse(raw);
    if (!parsed.success) {
      this.crash(s, run, `The emulator sent a malformed message (${describeZodError(parsed.error)})`);
      return;
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'state':
        if (msg.state === 'stopped') {
          if (s.state !== 'stopping') this.setState(s, 'stopping', undefined);
        } else if (s.state !== 'stopping') {
          this.setState(s, msg.state, undefined);
        }
        return;
      case 'stopped': {
        const reason = describeStopReason(msg.reason);
        if (msg.reason.kind === 'error') {
          this.crash(s, run, reason);
          return;
        }
        this.endRun(s, run, 'stopped', reason);
        // The worker closes its port and exits by itself; make sure it does.
        setTimeout(() => { void run.worker.terminate(); }, 2000).unref();
        return;
      }
      case 'serial-out': {
        s.serial.append(msg.data);
        run.pty?.write(msg.data);
        for (const sub of [...s.subscribers]) {
          try {
            sub.onData(msg.data);
          } catch (err) {
            console.error(`vireo: serial subscriber of ${this.describeVm(s.id)} failed: ${errorText(err)}`);
          }
        }
        return;
      }
      case 'screenshot':
      case 'screen-text': {
        const p = run.pending.get(msg.requestId);
        if (!p || p.kind !== msg.type) {
          this.log(s.id, `unexpected ${msg.type} answer for request ${msg.requestId}`);
          return;
        }
        clearTimeout(p.timer);
        run.pending.delete(msg.requestId);
        p.resolve(msg.type === 'screenshot' ? msg.png : msg.text);
        return;
      }
      case 'stats':
        this.recordStats(s, run, msg.instructions);
        return;
      case 'error': {
        const p = msg.requestId === undefined ? undefined : run.pending.get(msg.requestId);
        if (p && msg.requestId !== undefined) {
          clearTimeout(p.timer);
          run.pending.delete(msg.requestId);
          // A refused CD-ROM change is about the user's file (not an ISO, unreadable), not a host fault.
          p.reject(new ApiError(p.kind === 'cdrom-change' ? 'bad-request' : 'internal', `${this.describeVm(s.id)}: ${msg.message}`));
        } else if (s.state === 'starting') {
          // The machine could not be built (firmware missing, unsupported setting): not a crash.
          this.endRun(s, run, 'stopped', `Could not start: ${msg.message}`);
          void run.worker.terminate();
        } else {
          this.log(s.id, `error: ${msg.message}`);
        }
        return;
      }
      case 'log':
        this.log(s.id, msg.message);
        return;
      case 'backend':
        run.backend = msg.kind;
        run.backendReason = msg.reason;
        this.log(s.id, `cpu backend: ${msg.kind} (${msg.reason})`);
        return;
      case 'rfb-data': {
        const v = run.vnc.get(msg.connId);
        if (!v) return; // the viewer has gone; the worker hears rfb-close
        try {
          v.onData(msg.data);
        } catch (err) {
          console.error(`vireo: screen viewer of ${this.describeVm(s.id)} failed: ${errorText(err)}`);
        }
        return;
      }
      case 'rfb-closed': {
        const v = run.vnc.get(msg.connId);
        if (!v) return;
        run.vnc.delete(msg.connId);
        try {
          v.onClose(msg.reason);
        } catch (err) {
          console.error(`vireo: screen viewer of ${this.describeVm(s.id)} failed: ${errorText(err)}`);
        }
        return;
      }
      case 'cdrom-changed': {
        const p = run.pending.get(msg.requestId);
        if (!p || p.kind !== 'cdrom-change') {
          this.log(s.id, `unexpected cdrom-changed answer for request ${msg.requestId}`);
          return;
        }
        clearTimeout(p.timer);
        run.pending.delete(msg.requestId);
        p.resolve('');
        return;
      }
      case 'vnc-listening':
        run.vncPort = msg.port;
        if (msg.port === null) console.error(`vireo: ${this.describeVm(s.id)}: the VNC listener could not start: ${msg.error ?? 'unknown error'}`);
        return;
    }
  }

  private recordStats(s: VmSession, run: WorkerRun, instructions: number): void {
    const now = performance.now();
    const elu = run.worker.performance.eventLoopUtilization();
    const dtSec = (now - run.last.atPerfMs) / 1000;
    if (dtSec <= 0) return;
    const instructionsPerSec = Math.max(0, (instructions - run.last.instructions) / dtSec);
    const delta = run.worker.performance.eventLoopUtilization(elu, run.last.elu);
    const sample: VmStatsSample = { atMs: Date.now(), instructionsPerSec };
    if (Number.isFinite(delta.utilization)) sample.cpuPercent = Math.min(100, Math.max(0, delta.utilization * 100));
    run.last = { instructions, atPerfMs: now, elu };
    s.samples.push(sample);
    if (s.samples.length > this.statsSamples) s.samples.splice(0, s.samples.length - this.statsSamples);
    this.emit({ kind: 'stats', stats: this.statsOf(s.id) });
  }
}
