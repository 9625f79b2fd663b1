/**
 * Public entry of the emulator library: the only module main/ may import.
 * Everything else under emulator/ is internal.
 */
export { GuestMemory, PAGE_SIZE } from './memory/guest-memory.js';
export { VirtualClock } from './time/clock.js';
export type { Clock, Scheduler, TimerHandle } from './time/clock.js';
export { CpuExit } from './cpu/backend.js';
export type { CpuBackend, CpuRegs, VmOps, InterruptSource } from './cpu/backend.js';
