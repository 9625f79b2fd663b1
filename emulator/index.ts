/**
 * Public entry of the emulator library: the only module main/ may import.
 * Everything else under emulator/ is internal.
 */
export { GuestMemory, PAGE_SIZE } from './memory/guest-memory.js';
export { VirtualClock } from './time/clock.js';
export type { Clock, Scheduler, TimerHandle } from './time/clock.js';
export { CpuExit } from './cpu/backend.js';
export type { CpuBackend, CpuRegs, VmOps, InterruptSource } from './cpu/backend.js';
export { PcMachine, createPcMachine, type PcMachineOptions } from './machine/pc-machine.js';
export { PC_MAX_CPUS } from './board/pc.js';
export { DEFAULT_CHUNK_INSTRUCTIONS, type RunState, type StopReason } from './machine/run-loop.js';
export { GuestProfiler, type ProfileEntry } from './machine/guest-profiler.js';
export type { HostTiming } from './machine/host-timing.js';
export { createNodeTiming } from './host/node-timing.js';
export { loadFirmware } from './host/firmware-files.js';
export { FirmwareNotFoundError } from './firmware/firmware-lookup.js';
export { openDisk, createDisk, probeDisk } from './host/open-disk.js';
export { openDrives, closeDrives, type DriveSpec } from './host/open-drives.js';
export { chooseBackend, type BackendChoice } from './host/cpu-backend-select.js';
export { startUserNetwork, hostEntropy, parseHostForward, type PortForward, type StartedNetwork } from './host/machine-network.js';
export type { AttachedDrive, IdeSlot } from './machine/drives.js';
export { StorageError } from './storage/block-backend.js';

/** URL of the worker entry that hosts one machine per worker thread (see protocol/worker.ts). */
export const machineWorkerUrl: URL = new URL('./worker/machine-worker.js', import.meta.url);
