/**
 * Builds a PcMachine on KVM for the nested tests the way `vireo run --backend kvm` and the
 * app's worker do (chooseBackend + createPcMachine), and tiny BIOS images for them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chooseBackend } from '../../../emulator/host/cpu-backend-select.js';
import { createNodeTiming } from '../../../emulator/host/node-timing.js';
import { createPcMachine, type PcMachine } from '../../../emulator/machine/pc-machine.js';
import type { StopReason } from '../../../emulator/machine/run-loop.js';

/** Debian's SeaBIOS. */
export const BIOS = '/usr/share/seabios/bios-256k.bin';
const VGABIOS = '/usr/share/seabios/vgabios-stdvga.bin';

/** A machine started by `boot`: its debugcon text, log lines and the run's end. */
export interface Booted {
  machine: PcMachine;
  debug: () => string;
  logs: string[];
  done: Promise<StopReason>;
}

/** Starts a 64 MiB pc machine on KVM with `bios`; `onDebug` sees the debugcon text so far. */
export function boot(bios: Uint8Array, onDebug?: (text: string, m: PcMachine) => void, irqchip: 'kernel' | 'userspace' = 'kernel'): Booted {
  let debug = '';
  const logs: string[] = [];
  const choice = chooseBackend('kvm', false, (m) => { if (logs.length < 100) logs.push(m); }, 1, { irqchip });
  const late: { m?: PcMachine } = {};
  const machine = createPcMachine({
    memoryBytes: 64 * 1024 * 1024,
    bios,
    vgaBios: existsSync(VGABIOS) ? new Uint8Array(readFileSync(VGABIOS)) : null,
    deterministic: false,
    timing: createNodeTiming(),
    rtcStart: new Date(Date.UTC(2024, 0, 1)),
    createCpu: choice.createCpu,
    alignWindow: choice.alignWindow,
    debugconOut: (bytes) => {
      debug += Buffer.from(bytes).toString('latin1');
      if (late.m) onDebug?.(debug, late.m);
    },
    log: (m) => { if (logs.length < 100) logs.push(m); },
  });
  late.m = machine;
  return { machine, debug: () => debug, logs, done: machine.run() };
}

/**
 * Waits for a booted machine's run to end, stopping it after `failsafeMs` (a failsafe only,
 * no timing assertion: nested KVM on TCG needs seconds to minutes).
 */
export async function runToEnd(b: Booted, failsafeMs: number): Promise<StopReason> {
  const failsafe = setTimeout(() => b.machine.stop({ kind: 'requested', detail: 'failsafe timeout' }), failsafeMs);
  try {
    return await b.done;
  } finally {
    clearTimeout(failsafe);
  }
}

/**
 * Real-mode code for a test across a guest-requested reset: on the first boot (RAM byte
 * 0x500 still 0) it marks 0x500, runs `beforeReset` and hard-resets through port 0xCF9; after
 * the reset, RAM kept, it runs `afterReset`.
 */
export function acrossReset(beforeReset: readonly number[], afterReset: readonly number[]): number[] {
  const mark = [0xc6, 0x06, 0x00, 0x05, 0x01]; //   mov byte [0x500], 1
  const reset = [0xba, 0xf9, 0x0c, 0xb0, 0x06, 0xee]; // mov dx, 0xcf9; mov al, 6; out dx, al (hard reset)
  const first = [...mark, ...beforeReset, ...reset];
  if (first.length > 127) throw new Error('acrossReset: the first-boot part is too long for a short jump');
  return [
    0xfa, 0x31, 0xc0, 0x8e, 0xd8, //                 cli; xor ax, ax; mov ds, ax
    0x80, 0x3e, 0x00, 0x05, 0x00, //                 cmp byte [0x500], 0
    0x75, first.length, //                           jne (after the reset)
    ...first,
    ...afterReset,
  ];
}

/** A 128 KiB BIOS image whose code at F000:0000 is `code`, with `jmp F000:0000` at the reset vector. */
export function tinyBios(code: number[]): Uint8Array {
  const rom = new Uint8Array(128 * 1024).fill(0xf4);
  rom.set(code, 0x10000);
  rom.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0x1fff0); // jmp far F000:0000
  return rom;
}
