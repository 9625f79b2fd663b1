/**
 * The host API contract, written once: every method's parameters and result, every event.
 *
 * Both shells (Electron IPC and the browser server's WebSocket) carry the same messages:
 *   request  { kind: 'call', id, method, params }
 *   response { kind: 'result', id, ok: true, result } | { kind: 'result', id, ok: false, error }
 *   event    { kind: 'event', event, payload }
 * The receiving side validates every message with the schemas below.
 */
import { z } from 'zod';
import { VmConfig, VmConfigDraft } from './vm-config.js';
import { ScanCode } from './worker.js';

/** Run state of a VM as the host supervisor sees it. */
export const VmRunState = z.enum(['stopped', 'starting', 'running', 'paused', 'stopping', 'crashed']);
/** @see VmRunState */
export type VmRunState = z.infer<typeof VmRunState>;

/** Where a running VM's serial port is reachable as a host pseudo-terminal, or why it is not. */
export const SerialPtyInfo = z.union([
  z.object({ path: z.string().min(1) }).strict(),
  z.object({ error: z.string().min(1) }).strict(),
]);
/** @see SerialPtyInfo */
export type SerialPtyInfo = z.infer<typeof SerialPtyInfo>;

/** A VM as listed: its configuration plus live state. */
export const VmEntry = z.object({
  config: VmConfig,
  state: VmRunState,
  /** Why the VM is in its state when that needs explaining (e.g. the crash reason). */
  stateReason: z.string().optional(),
  /** While the VM has a worker: the CPU backend actually in use (the config's `backend` is the request). */
  backendInUse: z.enum(['interp', 'kvm']).optional(),
  /** Why that backend runs (e.g. "KVM is not usable: permission denied on /dev/kvm: add your user to the kvm group"). */
  backendReason: z.string().optional(),
  /**
   * While the VM has a worker and its config asks for `serial.pty`: the host pseudo-terminal
   * connected to its COM1 (`path`, e.g. /dev/pts/5), or why there is none (`error`, e.g. on
   * a Windows host).
   */
  serialPty: SerialPtyInfo.optional(),
});
/** @see VmEntry */
export type VmEntry = z.infer<typeof VmEntry>;

/** A VM file in the data directory that could not be loaded. */
export const LibraryError = z.object({ file: z.string(), error: z.string() });
/** @see LibraryError */
export type LibraryError = z.infer<typeof LibraryError>;

/** Facts about the host that the UI needs (defaults, caps, backend availability). */
export const HostInfo = z.object({
  platform: z.string(),
  cpus: z.number().int(),
  memoryBytes: z.number(),
  shell: z.enum(['electron', 'server']),
  version: z.string(),
});
/** @see HostInfo */
export type HostInfo = z.infer<typeof HostInfo>;

/** One CPU-usage sample of a running VM (about one per second). */
export const VmStatsSample = z.object({
  /** Wall-clock time of the sample (ms since the epoch). */
  atMs: z.number(),
  /** Guest instructions retired per second of host time since the previous sample. */
  instructionsPerSec: z.number().nonnegative(),
  /** Busy share of the VM's worker thread in percent of one host core, when measurable. */
  cpuPercent: z.number().min(0).max(100).optional(),
});
/** @see VmStatsSample */
export type VmStatsSample = z.infer<typeof VmStatsSample>;

/** Largest number of samples a `vm.stats` event carries (the sparkline's window). */
export const VM_STATS_MAX_SAMPLES = 120;

/** Live CPU statistics of a running VM: the latest rate and the recent samples, oldest first. */
export const VmStats = z.object({
  id: z.string().min(1),
  instructionsPerSec: z.number().nonnegative(),
  samples: z.array(VmStatsSample).max(VM_STATS_MAX_SAMPLES),
});
/** @see VmStats */
export type VmStats = z.infer<typeof VmStats>;

// ====== install media, OS presets, disks, downloads, files (the New-VM wizard) ======

/** An OS preset: identity plus Vireo's recommendations for a new VM of that OS. */
export const OsPreset = z.object({
  /** Stable id stored in the VM config (`os.id`); osinfo short ids where they exist (win11, debian12). */
  id: z.string().min(1),
  /** Display name (`os.name`). */
  name: z.string().min(1),
  family: z.enum(['windows', 'linux', 'other']),
  /** Recommended virtual CPUs. */
  cpus: z.number().int().min(1),
  /** Recommended memory in MiB. */
  memoryMiB: z.number().int().min(16),
  /** Recommended size of a new disk in GiB. */
  diskGiB: z.number().int().min(1),
  /** Firmware the OS wants. */
  firmware: z.enum(['bios', 'uefi']),
  /** Whether the OS needs a TPM 2.0 (Windows 11) or profits from one. */
  tpm: z.enum(['required', 'recommended', 'none']),
  /** virtio drivers: in the OS already, or needed from the virtio-win ISO (Windows). */
  virtioDrivers: z.enum(['builtin', 'needed', 'none']),
});
/** @see OsPreset */
export type OsPreset = z.infer<typeof OsPreset>;

/** The OS detected on install media. */
export const DetectedOs = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  /** high: label and files agree; medium: label only or one of several matches; low: files only. */
  confidence: z.enum(['high', 'medium', 'low']),
  /** Which database recognised it. */
  source: z.enum(['osinfo', 'presets']),
  /** Recommendations for it (Vireo's preset of the same id, else derived from osinfo). */
  preset: OsPreset,
});
/** @see DetectedOs */
export type DetectedOs = z.infer<typeof DetectedOs>;

/** What `iso.inspect` learned about an image. */
export const IsoInspection = z.object({
  path: z.string(),
  /** The best volume label (UDF, else ISO 9660, else Joliet), or null. */
  label: z.string().nullable(),
  labels: z.object({ iso: z.string().nullable(), joliet: z.string().nullable(), udf: z.string().nullable() }),
  sizeBytes: z.number().nonnegative(),
  /** Well-known files found on the media (e.g. "sources/install.wim", ".disk/info"). */
  files: z.array(z.string()),
  /** The detected OS, or null when nothing matched. */
  os: DetectedOs.nullable(),
  /** Other candidates when the label matched several OSes (ids). */
  alternatives: z.array(z.object({ id: z.string(), name: z.string() })),
  warnings: z.array(z.string()),
});
/** @see IsoInspection */
export type IsoInspection = z.infer<typeof IsoInspection>;

/** One entry of a server-side directory listing. */
export const FileEntry = z.object({
  name: z.string(),
  path: z.string(),
  kind: z.enum(['file', 'dir']),
  sizeBytes: z.number().nonnegative(),
});
/** @see FileEntry */
export type FileEntry = z.infer<typeof FileEntry>;

/** Progress of a download (about four times a second). */
export const DownloadProgress = z.object({
  id: z.string(),
  receivedBytes: z.number().nonnegative(),
  /** Total size when the server said it, else null. */
  totalBytes: z.number().nonnegative().nullable(),
  bytesPerSec: z.number().nonnegative(),
  /** Estimated seconds left, when the total is known and data flows. */
  etaSec: z.number().nonnegative().nullable(),
});
/** @see DownloadProgress */
export type DownloadProgress = z.infer<typeof DownloadProgress>;

/** Where the virtio-win driver ISO is downloaded from by default (Fedora project, stable). */
export const VIRTIO_WIN_DEFAULT_URL =
  'https://fedorapeople.org/groups/virt/virtio-win/direct-downloads/stable-virtio/virtio-win.iso';

const Empty = z.object({}).strict();
const VmId = z.object({ id: z.string().min(1) }).strict();

/** Every API method: parameter schema and result schema. */
export const apiMethods = {
  'host.info': { params: Empty, result: HostInfo },
  'vm.list': { params: Empty, result: z.object({ vms: z.array(VmEntry), errors: z.array(LibraryError) }) },
  'vm.get': { params: VmId, result: VmEntry },
  'vm.create': { params: z.object({ draft: VmConfigDraft }).strict(), result: VmEntry },
  /**
   * Replaces a VM's configuration. Refused with 'conflict' while the VM is active, except
   * when the only change is the media of existing CD-ROM drives (path/format): that is
   * applied to the running machine (worker `cdrom-change`) and saved.
   */
  'vm.update': { params: z.object({ id: z.string().min(1), config: VmConfig }).strict(), result: VmEntry },
  'vm.delete': {
    params: z.object({ id: z.string().min(1), deleteDrivePaths: z.array(z.string()).default([]) }).strict(),
    result: z.object({
      deletedFiles: z.array(z.string()),
      /** Listed drive images that could not be deleted (the VM itself is gone). */
      failedFiles: z.array(z.object({ file: z.string(), error: z.string() })).optional(),
    }),
  },
  /** Starts a stopped (or crashed) VM; resolves once it runs. */
  'vm.start': { params: VmId, result: VmEntry },
  /**
   * Asks a running or paused VM to shut down; resolves once it has stopped. Today this stops
   * the machine at the next slice boundary; with ACPI it will press the power button.
   */
  'vm.stop': { params: VmId, result: VmEntry },
  /**
   * Graceful shut down, as virt-manager's: presses the ACPI power button of a running (or
   * paused: it is resumed first) VM and waits for the guest to power off (state stopping,
   * then stopped). If the guest does not power off within the host's shutdown timeout
   * (default 60 s), the VM is left running with stateReason "The guest did not respond
   * to the ACPI power button; use Force off"; the call still succeeds with that entry.
   */
  'vm.shutdown': { params: VmId, result: VmEntry },
  /**
   * Copies VM `id`'s configuration under a new id and `name` (unique, like every VM name).
   * With `copyDisks`, each disk image is copied next to the original under a new file name
   * (byte copy; refuses to overwrite an existing file; refused while the VM is active);
   * without, the clone shares the images. CD-ROM media are always shared.
   */
  'vm.clone': {
    params: z.object({ id: z.string().min(1), name: z.string().trim().min(1, 'name must not be empty').max(100), copyDisks: z.boolean() }).strict(),
    result: z.object({ entry: VmEntry, copiedFiles: z.array(z.object({ from: z.string(), to: z.string() })) }),
  },
  /** Pulls the plug: ends the VM's emulator at once, whatever it is doing. */
  'vm.forceOff': { params: VmId, result: VmEntry },
  /** Pauses a running VM. */
  'vm.pause': { params: VmId, result: VmEntry },
  /** Resumes a paused VM. */
  'vm.resume': { params: VmId, result: VmEntry },
  /** Presses the reset button of a running or paused VM. */
  'vm.reset': { params: VmId, result: VmEntry },
  /** The VM's screen as a PNG image, base64-encoded (a snapshot; the live console is RFB). */
  'vm.screenshot': { params: VmId, result: z.object({ pngBase64: z.string() }) },
  /** The VM's text-mode screen as lines of text. */
  'vm.screenText': { params: VmId, result: z.object({ text: z.string() }) },
  /**
   * Presses a key chord on a running or paused VM's keyboard (the console's Send-key menu):
   * `keys` are set-1 scan codes pressed in order and released in reverse, e.g.
   * Ctrl+Alt+Del = [0x1D, 0x38, 0xE053].
   */
  'vm.sendKeys': { params: z.object({ id: z.string().min(1), keys: z.array(ScanCode).min(1).max(8) }).strict(), result: Empty },
  /**
   * Test-only: ends the VM's emulator worker as if it had died, to exercise crash handling.
   * Available only when the host runs with VIREO_TEST_HOOKS=1; otherwise 'unsupported'.
   */
  'test.killWorker': { params: VmId, result: Empty },
  /** Reads an install ISO's labels and well-known files and detects its OS. */
  'iso.inspect': { params: z.object({ path: z.string().min(1) }).strict(), result: IsoInspection },
  /** The OS presets (recommendations) and whether osinfo-db is used for detection. */
  'os.presets': { params: Empty, result: z.object({ presets: z.array(OsPreset), osinfo: z.boolean() }) },
  /** The host's CPUs and memory (caps for the wizard). */
  'host.resources': {
    params: Empty,
    result: z.object({
      cpus: z.number().int().min(1),
      memoryBytes: z.number().nonnegative(),
      /** Where new disk images go by default (`<data dir>/images`). */
      imageDir: z.string(),
    }),
  },
  /** Creates a new disk image; refuses an existing file. */
  'disk.create': {
    params: z.object({
      path: z.string().min(1),
      sizeBytes: z.number().int().min(1024 * 1024, 'sizeBytes must be at least 1 MiB').max(64 * 1024 ** 4),
      format: z.enum(['qcow2', 'raw']).default('qcow2'),
    }).strict(),
    result: z.object({ path: z.string(), sizeBytes: z.number(), format: z.enum(['qcow2', 'raw']) }),
  },
  /**
   * Starts downloading `url` (default: the virtio-win ISO) into `destDir`; answers at once
   * with the id; then `download.progress`, and `download.done` or `download.failed`.
   */
  'download.start': {
    params: z.object({ url: z.string().url().optional(), destDir: z.string().min(1) }).strict(),
    result: z.object({ id: z.string(), url: z.string(), path: z.string() }),
  },
  /** Cancels a running download (its partial file is removed). */
  'download.cancel': { params: z.object({ id: z.string().min(1) }).strict(), result: Empty },
  /**
   * Lists a directory for the browser shell's file browser, within the configured roots
   * only; without `dir`, the first root.
   */
  'files.list': {
    params: z.object({ dir: z.string().min(1).optional() }).strict(),
    result: z.object({ dir: z.string(), parent: z.string().nullable(), roots: z.array(z.string()), entries: z.array(FileEntry) }),
  },
  'dialog.openFile': {
    params: z.object({ title: z.string().optional(), extensions: z.array(z.string()).optional() }).strict(),
    result: z.object({ path: z.string().nullable() }),
  },
} as const;

/** Name of an API method. */
export type ApiMethod = keyof typeof apiMethods;
/** Parameters a caller passes to method M (before defaults are applied). */
export type ApiParams<M extends ApiMethod> = z.input<(typeof apiMethods)[M]['params']>;
/** Parameters a handler receives for method M (after validation and defaults). */
export type ApiParsedParams<M extends ApiMethod> = z.output<(typeof apiMethods)[M]['params']>;
/** Result of method M. */
export type ApiResult<M extends ApiMethod> = z.output<(typeof apiMethods)[M]['result']>;

/** Every event the host pushes to clients. */
export const apiEvents = {
  'vm.changed': VmEntry,
  'vm.removed': z.object({ id: z.string() }),
  /** CPU statistics of a running VM, about once per second. */
  'vm.stats': VmStats,
  /** A download's progress. */
  'download.progress': DownloadProgress,
  /** A download finished and was verified; `label` is the ISO's volume label. */
  'download.done': z.object({ id: z.string(), path: z.string(), sizeBytes: z.number(), label: z.string().nullable() }),
  /** A download failed or was cancelled. */
  'download.failed': z.object({ id: z.string(), error: z.string(), cancelled: z.boolean() }),
} as const;
/** Name of an API event. */
export type ApiEvent = keyof typeof apiEvents;
/** Payload of event E. */
export type ApiEventPayload<E extends ApiEvent> = z.output<(typeof apiEvents)[E]>;

/** The host side implements one handler per method. */
export type ApiHandlers = { [M in ApiMethod]: (params: ApiParsedParams<M>) => Promise<ApiResult<M>> };

/** Error codes a call can fail with. */
export const ApiErrorCode = z.enum(['bad-request', 'not-found', 'conflict', 'unsupported', 'internal']);
/** @see ApiErrorCode */
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** Wire message: a call. */
export const CallMessage = z.object({
  kind: z.literal('call'),
  id: z.number().int().nonnegative(),
  method: z.string(),
  params: z.unknown(),
}).strict();
/** @see CallMessage */
export type CallMessage = z.infer<typeof CallMessage>;

/** Wire message: the answer to a call. */
export const ResultMessage = z.discriminatedUnion('ok', [
  z.object({ kind: z.literal('result'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }).strict(),
  z.object({
    kind: z.literal('result'), id: z.number().int(), ok: z.literal(false),
    error: z.object({ code: ApiErrorCode, message: z.string() }),
  }).strict(),
]);
/** @see ResultMessage */
export type ResultMessage = z.infer<typeof ResultMessage>;

/** Wire message: an event. */
export const EventMessage = z.object({ kind: z.literal('event'), event: z.string(), payload: z.unknown() }).strict();
/** @see EventMessage */
export type EventMessage = z.infer<typeof EventMessage>;

/** Any message from host to client. */
export const HostToClientMessage = z.union([ResultMessage, EventMessage]);
/** @see HostToClientMessage */
export type HostToClientMessage = z.infer<typeof HostToClientMessage>;

/** A typed error carried across the boundary. */
export class ApiError extends Error {
  /** @param code machine-readable category @param message human-readable, names the problem */
  constructor(readonly code: ApiErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** True if `name` is a known method. */
export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(apiMethods, name);
}

/** True if `name` is a known event. */
export function isApiEvent(name: string): name is ApiEvent {
  return Object.prototype.hasOwnProperty.call(apiEvents, name);
}

/** The client interface both host clients (preload, WebSocket) implement for the renderer. */
export interface HostClient {
  /** Calls method M; rejects with ApiError on failure. Results are validated on receipt. */
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  /** Subscribes to event E; returns the unsubscribe function. Payloads are validated on receipt. */
  on<E extends ApiEvent>(event: E, listener: (payload: ApiEventPayload<E>) => void): () => void;
}

/** IPC channel names of the Electron shell; the preload allows these and nothing else. */
export const IPC_CHANNELS = {
  call: 'vireo:call',
  event: 'vireo:event',
  /** Renderer -> main (invoke): {@link SerialOpenRequest}; answers {@link SerialOpenAnswer}. */
  serialOpen: 'vireo:serial-open',
  /** Main -> renderer: `{ nonce }` with the serial console's MessagePort transferred. */
  serialPort: 'vireo:serial-port',
  /** Renderer -> main (invoke): {@link VncOpenRequest}; answers {@link VncOpenAnswer}. */
  vncOpen: 'vireo:vnc-open',
  /** Main -> renderer: `{ nonce }` with the screen's MessagePort (RFB bytes both ways) transferred. */
  vncPort: 'vireo:vnc-port',
} as const;

/** Asks the desktop shell for a serial console port of VM `id`; `nonce` ties the answer to the request. */
export const SerialOpenRequest = z.object({ id: z.string().min(1), nonce: z.string().min(8).max(128) }).strict();
/** @see SerialOpenRequest */
export type SerialOpenRequest = z.infer<typeof SerialOpenRequest>;

/** Answer to a {@link SerialOpenRequest}; on success the port follows on `vireo:serial-port`. */
export const SerialOpenAnswer = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }).strict(),
  z.object({ ok: z.literal(false), error: z.object({ code: ApiErrorCode, message: z.string() }) }).strict(),
]);
/** @see SerialOpenAnswer */
export type SerialOpenAnswer = z.infer<typeof SerialOpenAnswer>;

/**
 * The message the preload posts to the page (`window.postMessage`) carrying a serial
 * console MessagePort in `event.ports[0]`. The port carries raw bytes (Uint8Array) both ways.
 */
export const SerialPortMessage = z.object({ kind: z.literal('vireo:serial-port'), nonce: z.string() }).strict();
/** @see SerialPortMessage */
export type SerialPortMessage = z.infer<typeof SerialPortMessage>;

/** Asks the desktop shell for a screen (RFB) port of VM `id`; same shape as a serial request. */
export const VncOpenRequest = SerialOpenRequest;
/** @see VncOpenRequest */
export type VncOpenRequest = SerialOpenRequest;
/** Answer to a {@link VncOpenRequest}; on success the port follows on `vireo:vnc-port`. */
export const VncOpenAnswer = SerialOpenAnswer;
/** @see VncOpenAnswer */
export type VncOpenAnswer = SerialOpenAnswer;

/**
 * The message the preload posts to the page carrying a screen MessagePort in
 * `event.ports[0]`: RFB bytes (Uint8Array) both ways, the server speaks first.
 */
export const VncPortMessage = z.object({ kind: z.literal('vireo:vnc-port'), nonce: z.string() }).strict();
/** @see VncPortMessage */
export type VncPortMessage = z.infer<typeof VncPortMessage>;

/**
 * The object the Electron preload exposes as `window.vireo`. Deliberately untyped at the
 * boundary: `call` resolves to a raw ResultMessage and listeners receive raw EventMessages,
 * which the renderer validates with the schemas above.
 */
export interface VireoBridge {
  /** Sends a call message; resolves to the host's answer (a ResultMessage, unvalidated). */
  call(method: string, params: unknown): Promise<unknown>;
  /** Subscribes to host events (EventMessages, unvalidated); returns the unsubscribe function. */
  onEvent(listener: (message: unknown) => void): () => void;
  /**
   * Asks for the serial console of VM `id`. Resolves to the host's answer (a
   * SerialOpenAnswer, unvalidated); on success the preload then posts a
   * SerialPortMessage with the same `nonce` and the MessagePort to the page's window.
   */
  openSerial(id: string, nonce: string): Promise<unknown>;
  /**
   * Asks for a screen (RFB) connection to VM `id`. Resolves to a VncOpenAnswer
   * (unvalidated); on success the preload posts a VncPortMessage with the same `nonce`.
   */
  openVnc(id: string, nonce: string): Promise<unknown>;
}
