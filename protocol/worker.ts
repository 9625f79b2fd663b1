/**
 * The contract between the host (main/) and an emulator worker thread: one worker per
 * running VM. Messages are structured-cloned; bulk bytes (serial data, screenshots) travel
 * as Uint8Array, never as JSON text. The receiving side validates every message.
 */
import { z } from 'zod';

/** A byte array (any backing buffer, including a SharedArrayBuffer view). */
const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: "expected a Uint8Array" });

/** What the worker needs to build and boot a machine. */
export const WorkerMachineConfig = z.object({
  memoryBytes: z.number().int().min(2 * 1024 * 1024),
  cpus: z.number().int().min(1),
  /** Explicit firmware paths; default: found along the firmware search path. */
  biosPath: z.string().optional(),
  vgaBiosPath: z.string().optional(),
  deterministic: z.boolean().default(false),
  /**
   * CPU backend: the interpreter, KVM (refused with the reason when /dev/kvm is unusable or
   * the machine needs the interpreter), or auto (KVM when usable). The worker reports what
   * runs in a `backend` message.
   */
  backend: z.enum(['interp', 'kvm', 'auto']).default('interp'),
  /** Under KVM: Hyper-V enlightenments (CPUID "Microsoft Hv"; on for Windows guests, as virt-manager). */
  hyperv: z.boolean().default(false),
  /** IDE drives: disks and CD-ROMs (a null path is an empty CD-ROM drive). */
  drives: z.array(z.object({
    kind: z.enum(['disk', 'cdrom']),
    path: z.string().nullable(),
    format: z.enum(['raw', 'qcow2']).optional(),
    readOnly: z.boolean().optional(),
    /** Controller: IDE (default), virtio-blk (disks only) or virtio-scsi (disks and CD-ROMs). */
    bus: z.enum(['ide', 'virtio', 'scsi']).optional(),
  }).strict()).default([]),
  /** User-mode networking through passt on a virtio-net NIC, or no NIC. */
  net: z.enum(['user', 'none']).default('none'),
  /** Host->guest TCP/UDP port forwards for user-mode networking. */
  portForwards: z.array(z.object({
    protocol: z.enum(['tcp', 'udp']), hostPort: z.number().int(), guestPort: z.number().int(), hostAddress: z.string().optional(),
  }).strict()).default([]),
  /** virtio-rng, virtio-balloon and virtio-serial (guest agent channel), as virt-manager adds them. */
  virtioExtras: z.boolean().default(false),
  /** A virtio tablet for the console's absolute pointer. */
  tablet: z.boolean().default(false),
  /** Which kind of drive the firmware tries first. */
  boot: z.enum(['cdrom', 'disk']).optional(),
  /** The VM's name (the RFB desktop name). */
  name: z.string().optional(),
  /**
   * A TCP VNC listener on 127.0.0.1 for external VNC clients (absent: none). Always with
   * VNC Authentication: only the first 8 characters of the password count (RFC 6143 7.2.2).
   */
  vnc: z.object({
    port: z.number().int().min(0).max(65535),
    password: z.string().min(1),
  }).strict().optional(),
}).strict();
/** @see WorkerMachineConfig */
export type WorkerMachineConfig = z.infer<typeof WorkerMachineConfig>;

/** Names one RFB (VNC) viewer connection carried over the host <-> worker channel. */
const ConnId = z.number().int().nonnegative();

/**
 * A PC keyboard scan code (set 1) as the i8042 takes it: 0x01-0x7F, or 0xE001-0xE07F for
 * the extended keys (0xE01D right Ctrl, 0xE038 right Alt, 0xE037 PrintScreen, ...).
 */
export const ScanCode = z.number().int().refine(
  (c) => (c >= 0x01 && c <= 0x7f) || (c >= 0xe001 && c <= 0xe07f),
  { message: 'expected a set-1 scan code (0x01-0x7F or 0xE001-0xE07F)' },
);

/** Host -> worker. */
export const HostToWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), config: WorkerMachineConfig }).strict(),
  z.object({ type: z.literal('pause') }).strict(),
  z.object({ type: z.literal('resume') }).strict(),
  z.object({ type: z.literal('stop') }).strict(),
  z.object({ type: z.literal('reset') }).strict(),
  /** Presses the ACPI power button: a guest with ACPI support shuts down cleanly. */
  z.object({ type: z.literal('power-button') }).strict(),
  z.object({ type: z.literal('serial-in'), data: Bytes }).strict(),
  z.object({ type: z.literal('screenshot'), requestId: z.number().int() }).strict(),
  z.object({ type: z.literal('screen-text'), requestId: z.number().int() }).strict(),
  /** A viewer connected: the worker starts an RFB server-side connection (security None). */
  z.object({ type: z.literal('rfb-open'), connId: ConnId }).strict(),
  /** Bytes from viewer `connId`, in any chunking. */
  z.object({ type: z.literal('rfb-data'), connId: ConnId, data: Bytes }).strict(),
  /** Viewer `connId` went away. */
  z.object({ type: z.literal('rfb-close'), connId: ConnId }).strict(),
  /**
   * Presses `keys` in order, then releases them in reverse order: one chord such as
   * Ctrl+Alt+Del = [0x1D, 0x38, 0xE053].
   */
  z.object({ type: z.literal('send-keys'), keys: z.array(ScanCode).min(1).max(8) }).strict(),
  /**
   * Changes the medium of a CD-ROM drive of the running machine: `slot` is the index of
   * that drive in the start config's `drives`; `path` an ISO 9660 image to insert, or null
   * to eject. The worker answers `cdrom-changed` with the same `requestId`, or `error`
   * with it when the change failed (the old medium then stays).
   */
  z.object({ type: z.literal('cdrom-change'), requestId: z.number().int(), slot: z.number().int().nonnegative(), path: z.string().min(1).nullable() }).strict(),
]);
/** @see HostToWorker */
export type HostToWorker = z.infer<typeof HostToWorker>;

/** Why a machine stopped (mirrors the emulator's StopReason). */
export const WorkerStopReason = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('debug-exit'), code: z.number().int() }),
  z.object({ kind: z.literal('power-off') }),
  z.object({ kind: z.literal('requested'), detail: z.string() }),
  z.object({ kind: z.literal('halted-forever') }),
  z.object({ kind: z.literal('error'), message: z.string() }),
]);
/** @see WorkerStopReason */
export type WorkerStopReason = z.infer<typeof WorkerStopReason>;

/** Worker -> host. */
export const WorkerToHost = z.discriminatedUnion('type', [
  z.object({ type: z.literal('state'), state: z.enum(['running', 'paused', 'stopped']) }).strict(),
  z.object({ type: z.literal('stopped'), reason: WorkerStopReason }).strict(),
  z.object({ type: z.literal('serial-out'), data: Bytes }).strict(),
  z.object({ type: z.literal('screenshot'), requestId: z.number().int(), png: Bytes }).strict(),
  z.object({ type: z.literal('screen-text'), requestId: z.number().int(), text: z.string() }).strict(),
  z.object({ type: z.literal('stats'), instructions: z.number(), virtualNs: z.number() }).strict(),
  /** The CPU backend the machine runs on, and why (sent once, before the first `state`). */
  z.object({ type: z.literal('backend'), kind: z.enum(['interp', 'kvm']), reason: z.string() }).strict(),
  /**
   * A command failed (the worker keeps running). `requestId` names the screenshot or
   * screen-text request that failed, when the failure belongs to one.
   */
  z.object({ type: z.literal('error'), message: z.string(), requestId: z.number().int().optional() }).strict(),
  z.object({ type: z.literal('log'), message: z.string() }).strict(),
  /** RFB bytes for viewer `connId`. */
  z.object({ type: z.literal('rfb-data'), connId: ConnId, data: Bytes }).strict(),
  /** The worker closed viewer `connId` (bad message, VM stopping, or after `rfb-close`). */
  z.object({ type: z.literal('rfb-closed'), connId: ConnId, reason: z.string() }).strict(),
  /** The TCP VNC listener of `config.vnc`: the bound port, or null and why it failed. */
  z.object({ type: z.literal('vnc-listening'), port: z.number().int().nullable(), error: z.string().optional() }).strict(),
  /** The medium change of `cdrom-change` `requestId` is done (the guest sees a media change). */
  z.object({ type: z.literal('cdrom-changed'), requestId: z.number().int(), slot: z.number().int().nonnegative() }).strict(),
]);
/** @see WorkerToHost */
export type WorkerToHost = z.infer<typeof WorkerToHost>;
