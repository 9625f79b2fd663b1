/**
 * The pc board with KvmCpu instead of the interpreter boots Debian's SeaBIOS until it
 * reports "No bootable device" on debugcon (port 0x402). Userspace irqchip: the board's
 * own 8259/8254 deliver the interrupts (KVM_INTERRUPT), as PcMachine would wire it.
 * Runs only where /dev/kvm works (test/kvm/run-nested.sh).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PcBoard } from '../../../emulator/board/pc.js';
import { createKvmCpu, type KvmCpu } from '../../../emulator/cpu/kvm/index.js';
import { createNodeTiming } from '../../../emulator/host/node-timing.js';
import { RunLoop } from '../../../emulator/machine/run-loop.js';
import { VirtualClock } from '../../../emulator/time/clock.js';
import { hostPageOffset } from '../../../emulator/cpu/kvm/kvm-sys.js';
import { kvmSkipNote, kvmUsable } from './kvm-env.js';

const BIOS = '/usr/share/seabios/bios-256k.bin';
const VGABIOS = '/usr/share/seabios/vgabios-stdvga.bin';

describe(`pc board + KvmCpu boots SeaBIOS${kvmSkipNote}`, () => {
  it.skipIf(!kvmUsable || !existsSync(BIOS))('reaches "No bootable device"', async () => {
    const clock = new VirtualClock();
    let debug = '';
    const late: { cpu?: KvmCpu; loop?: RunLoop } = {};
    const logs: string[] = [];
    const board = new PcBoard({
      memoryBytes: 64 * 1024 * 1024,
      bios: new Uint8Array(readFileSync(BIOS)),
      vgaBios: existsSync(VGABIOS) ? new Uint8Array(readFileSync(VGABIOS)) : null,
      clock,
      rtcStart: new Date(Date.UTC(2024, 0, 1)),
      debugconOut: (bytes) => {
        debug += Buffer.from(bytes).toString('latin1');
        if (debug.includes('No bootable device')) late.loop?.stop({ kind: 'requested', detail: 'reached No bootable device' });
      },
      onDebugExit: (code) => late.loop?.stop({ kind: 'debug-exit', code }),
      onPowerOff: () => late.loop?.stop({ kind: 'power-off' }),
      onResetRequest: () => late.loop?.requestReset(),
      setA20: (enabled) => late.cpu?.setA20(enabled),
      onIntr: (level) => { if (level) { late.cpu?.kick(); late.loop?.wake(); } },
      log: (m) => { if (logs.length < 50) logs.push(m); },
      alignWindow: hostPageOffset, // KVM maps guest RAM from a page-aligned host address
    });
    const cpu = createKvmCpu(board, { irqchip: 'userspace' });
    late.cpu = cpu;
    const loop = new RunLoop({ cpu, clock, reset: () => { board.reset(); cpu.reset(); } }, createNodeTiming(), { deterministic: false });
    late.loop = loop;
    board.reset();
    cpu.reset();
    // Failsafe only (no timing assertion): SeaBIOS under nested KVM on TCG needs seconds to minutes.
    const failsafe = setTimeout(() => loop.stop({ kind: 'requested', detail: 'failsafe timeout' }), 400_000);
    const reason = await loop.run();
    clearTimeout(failsafe);
    cpu.close();
    console.log(`SeaBIOS under KVM: stop ${JSON.stringify(reason)}; slots ${cpu.memorySlots.length}; ` +
      `~${cpu.instructionsRetired} instr (est.)\n--- debugcon tail ---\n${debug.slice(-1500)}\n--- board log ---\n${logs.join('\n')}`);
    expect(reason).toEqual({ kind: 'requested', detail: 'reached No bootable device' });
    expect(debug).toContain('SeaBIOS');
  }, 420_000);
});
