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
  /** IDE drives: disks and CD-ROMs (a null path is an empty CD-ROM drive). */
  drives: z.array(z.object({
    kind: z.enum(['disk', 'cdrom']),
    path: z.string().nullable(),
    format: z.enum(['raw', 'qcow2']).optional(),
    readOnly: z.boolean().optional(),
  }).strict()).default([]),
  /** Which kind of drive the firmware tries first. */
  boot: z.enum(['cdrom', 'disk']).optional(),
}).strict();
/** @see WorkerMachineConfig */
export type WorkerMachineConfig = z.infer<typeof WorkerMachineConfig>;

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
  /**
   * A command failed (the worker keeps running). `requestId` names the screenshot or
   * screen-text request that failed, when the failure belongs to one.
   */
  z.object({ type: z.literal('error'), message: z.string(), requestId: z.number().int().optional() }).strict(),
  z.object({ type: z.literal('log'), message: z.string() }).strict(),
]);
/** @see WorkerToHost */
export type WorkerToHost = z.infer<typeof WorkerToHost>;
