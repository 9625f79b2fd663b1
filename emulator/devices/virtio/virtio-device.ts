/**
 * The transport-independent virtio device contract (virtio 1.2 §2: basic facilities of
 * a virtio device; §3.1 device initialization), after rust-vmm's VirtioDevice and
 * Firecracker's: a device declares its type, queue sizes, features and configuration
 * space; the transport (PCI here, §4.1) negotiates features, sets up queues and calls
 * `activate` with a context once the driver sets DRIVER_OK; the device pops chains from
 * its queues on `queueNotify` and completes them through the context, which adds used
 * elements and raises the queue's interrupt when the driver wants one (§2.7.7).
 *
 * A context belongs to one activation: after a device reset it goes stale and every
 * call on it is a no-op, so an asynchronous completion (a disk read finishing after the
 * guest reset the device) cannot touch the new rings.
 */
import type { AccessSize, DeviceState } from '../device.js';
import type { DmaMemory } from '../ide/bus-master.js';
import type { Virtqueue } from './virtqueue.js';

/** What an activated device may do: memory, queues, interrupts, error reporting. */
export interface VirtioDeviceContext {
  /** Guest memory for ring and buffer access (fails while bus mastering is off). */
  readonly memory: DmaMemory;
  /** The negotiated feature bits. */
  readonly features: bigint;
  /** False once the device was reset after this activation. */
  readonly live: boolean;
  /** Queue `index` if the driver enabled it, else undefined. */
  queue(index: number): Virtqueue | undefined;
  /** Adds a used element to queue `index` without interrupting (batch, then `signal`). */
  addUsed(index: number, head: number, lenBytes: number): void;
  /** Interrupts for queue `index` if the driver wants it (§2.7.7, EVENT_IDX). */
  signal(index: number): void;
  /** `addUsed` then `signal`. */
  complete(index: number, head: number, lenBytes: number): void;
  /** The device changed its configuration space: bump config_generation and interrupt. */
  configChanged(): void;
  /** The device hit an unrecoverable guest error: set DEVICE_NEEDS_RESET (§2.1.2). */
  needsReset(message: string): void;
  /** Counts and logs guest misuse that the device survives. */
  misuse(message: string): void;
}

/** A virtio device, independent of its transport. */
export interface VirtioDevice {
  /** Stable id (snapshots, logs). */
  readonly id: string;
  /** Virtio device id (§5: 1 net, 2 block, 3 console, 4 entropy, 5 balloon, 18 input). */
  readonly deviceType: number;
  /** Maximum size of each queue (powers of two); the count is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Offered features (device-specific bits plus the reserved ones it supports). */
  readonly deviceFeatures: bigint;
  /** Bytes of the device configuration space. */
  readonly configSizeBytes: number;
  /** Reads `size` bytes of the configuration space at `offset` (little-endian). */
  readConfig(offset: number, size: AccessSize): number;
  /** Writes the configuration space (most fields are read-only: ignore those). */
  writeConfig(offset: number, size: AccessSize, value: number): void;
  /** The driver set DRIVER_OK: start using the queues through `ctx`. */
  activate(ctx: VirtioDeviceContext): void;
  /** The driver notified queue `index` (only called while activated). */
  queueNotify(index: number): void;
  /** Device reset (status 0, §2.4): forget the context and in-flight requests. */
  reset(): void;
  /** Device-specific state (`{ v, ... }`). */
  saveState(): DeviceState;
  /** Validates then applies a device-specific state; the transport re-activates after. */
  loadState(state: unknown): void;
}

/** Reads `size` little-endian bytes of `bytes` at `offset`; bytes beyond the end read 0. */
export function readLe(bytes: Uint8Array, offset: number, size: AccessSize): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + (bytes[offset + i] ?? 0);
  return v >>> 0;
}

/** Writes `size` little-endian bytes of `value` into `bytes` at `offset` (clipped). */
export function writeLe(bytes: Uint8Array, offset: number, size: AccessSize, value: number): void {
  for (let i = 0; i < size; i++) {
    if (offset + i >= 0 && offset + i < bytes.length) bytes[offset + i] = (value >>> (8 * i)) & 0xff;
  }
}
