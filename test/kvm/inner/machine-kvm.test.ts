/**
 * PcMachine on KVM the way `vireo run --backend kvm` and the app's worker build it
 * (chooseBackend + createPcMachine): the in-kernel irqchip (KVM's 8259/IOAPIC/LAPIC/PIT,
 * GSI routing as the MADT says), SeaBIOS to "No bootable device" with the board's own
 * interrupt controllers untouched, how late the host's event loop gets a turn while the
 * guest runs (the latency of pause/stop messages in a worker), a reset the guest asks for, and
 * an instruction KVM cannot run (a readable error and a stopped machine). The triple fault is
 * in test/kvm/last/ (it upsets the nested host). Runs only where /dev/kvm works.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIOS, acrossReset, boot, runToEnd, tinyBios } from './kvm-machine.js';
import { kvmSkipNote, kvmUsable } from './kvm-env.js';

describe(`PcMachine on KVM with the in-kernel irqchip${kvmSkipNote}`, () => {
  it.skipIf(!kvmUsable || !existsSync(BIOS))('boots SeaBIOS to "No bootable device"; the TypeScript PIC and IOAPIC stay untouched', async () => {
    const b = boot(new Uint8Array(readFileSync(BIOS)), (text, m) => {
      if (text.includes('No bootable device')) m.stop({ kind: 'requested', detail: 'reached No bootable device' });
    });
    const picBefore = JSON.stringify(b.machine.board.pic.saveState());
    const ioapicBefore = JSON.stringify(b.machine.board.ioapic.saveState());
    const reason = await runToEnd(b, 400_000);
    console.log(`SeaBIOS on KVM (kernel irqchip): ${JSON.stringify(reason)}\n--- debugcon tail ---\n${b.debug().slice(-800)}\n--- log ---\n${b.logs.join('\n')}`);
    expect(reason).toEqual({ kind: 'requested', detail: 'reached No bootable device' });
    expect(b.debug()).toContain('SeaBIOS');
    // The kernel answered the 8259 and IOAPIC: Vireo's own never saw an access.
    expect(JSON.stringify(b.machine.board.pic.saveState())).toBe(picBefore);
    expect(JSON.stringify(b.machine.board.ioapic.saveState())).toBe(ioapicBefore);
  }, 420_000);

  it.skipIf(!kvmUsable || !existsSync(BIOS))('lets the host event loop in every few ms while the guest runs (pause/stop latency)', async () => {
    const b = boot(new Uint8Array(readFileSync(BIOS)));
    // Lateness of 10 ms timers while the guest runs: how long a pause/stop message waits in a worker.
    const late: number[] = [];
    await new Promise<void>((resolve) => {
      const arm = (): void => {
        const due = performance.now() + 10;
        setTimeout(() => {
          late.push(performance.now() - due);
          if (late.length >= 200) resolve();
          else arm();
        }, 10);
      };
      arm();
    });
    const t0 = performance.now();
    b.machine.pause();
    const pausedAfter = performance.now() - t0;
    b.machine.stop({ kind: 'requested', detail: 'latency probe done' });
    const reason = await b.done;
    const sorted = [...late].sort((x, y) => x - y);
    const pct = (p: number): string => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2);
    console.log(`event-loop lateness while the KVM guest runs (ms): median ${pct(0.5)}, p95 ${pct(0.95)}, max ${pct(1)}; ` +
      `pause took effect in ${pausedAfter.toFixed(2)} ms`);
    expect(reason).toEqual({ kind: 'requested', detail: 'latency probe done' });
    expect(b.machine.runState).toBe('stopped');
  }, 120_000);

  it.skipIf(!kvmUsable)('a reset the guest asks for (port 0xCF9) restarts it at the reset vector with fresh in-kernel state', async () => {
    const code = acrossReset([
      0xb0, 0x11, 0xe6, 0x20, //                   ICW1 to the (in-kernel) 8259: it must be reset afterwards
    ], [
      0xb0, 0x2a, 0xe6, 0xf4, //                   mov al, 42; out 0xf4, al (isa-debug-exit)
      0xf4,
    ]);
    const b = boot(tinyBios(code));
    const reason = await runToEnd(b, 60_000);
    expect(reason).toEqual({ kind: 'debug-exit', code: (42 << 1) | 1 });
  }, 90_000);

  it.skipIf(!kvmUsable)('a reset puts the MSRs back to power-on values (kvm-clock off, SYSENTER_CS 0)', async () => {
    const code = acrossReset([
      0x66, 0xb9, 0x74, 0x01, 0x00, 0x00, //       mov ecx, 0x174 (IA32_SYSENTER_CS)
      0x66, 0xb8, 0x34, 0x12, 0x00, 0x00, //       mov eax, 0x1234
      0x66, 0x31, 0xd2, //                         xor edx, edx
      0x0f, 0x30, //                               wrmsr
      0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b, //       mov ecx, 0x4b564d01 (MSR_KVM_SYSTEM_TIME_NEW)
      0x66, 0xb8, 0x01, 0x60, 0x00, 0x00, //       mov eax, 0x6001 (kvm-clock on, at 0x6000)
      0x0f, 0x30, //                               wrmsr
    ], [
      0x66, 0xb9, 0x74, 0x01, 0x00, 0x00, //       mov ecx, 0x174
      0x0f, 0x32, //                               rdmsr
      0x66, 0x89, 0xc3, //                         mov ebx, eax
      0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b, //       mov ecx, 0x4b564d01
      0x0f, 0x32, //                               rdmsr
      0x66, 0x09, 0xc3, //                         or ebx, eax
      0xb0, 0x2a, //                               mov al, 42
      0x66, 0x85, 0xdb, //                         test ebx, ebx
      0x74, 0x02, //                               jz +2
      0xb0, 0x2b, //                               mov al, 43 (an MSR survived the reset)
      0xe6, 0xf4, 0xf4, //                         out 0xf4, al (isa-debug-exit); hlt
    ]);
    const b = boot(tinyBios(code));
    const reason = await runToEnd(b, 60_000);
    expect(reason).toEqual({ kind: 'debug-exit', code: (42 << 1) | 1 });
  }, 90_000);

  it.skipIf(!kvmUsable)('code KVM cannot run (fetched from MMIO) stops the machine with a readable error', async () => {
    const bios = tinyBios([0xea, 0x00, 0x00, 0x00, 0xa0]); // jmp far A000:0000 (the VGA window: MMIO)
    const b = boot(bios);
    const reason = await runToEnd(b, 60_000);
    console.log(`code in MMIO: ${JSON.stringify(reason)}`);
    expect(reason.kind).toBe('error');
    expect(reason.kind === 'error' ? reason.message : '').toMatch(/^KVM_EXIT_INTERNAL_ERROR suberror 1: EMULATION .* at a000:00000000$/);
    expect(b.machine.runState).toBe('stopped');
  }, 90_000);
});
