/**
 * The virtio acceptance guest (test/fixtures/virtio-guest.ts, as test/guests/virtio-linux.slow.test.ts
 * boots it on the interpreter) on `vireo run --backend kvm`: Linux drives virtio-blk,
 * virtio-scsi, virtio-rng, virtio-balloon, the virtio tablet and the guest agent port
 * through MSI-X, which the in-kernel irqchip receives as KVM_SIGNAL_MSI (a lost MSI leaves
 * the guest waiting on its queue, and the run times out). Without
 * virtio-net: the nested test guest has no network for passt (the interpreter's slow test
 * covers it). Runs only where /dev/kvm works and is not PVM (test/kvm/run-nested.sh), with the
 * ISO built on the host beforehand (test/kvm/kvm-fixtures.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { BOOT_MARKER, buildLinuxTestIso, linuxGuestToolsAvailable } from '../../fixtures/linux-guest.js';
import { VIRTIO_GUEST_MODULES, VIRTIO_GUEST_SCRIPT, writeVirtioDataDisk } from '../../fixtures/virtio-guest.js';
import { runVireo, vireoCliUnavailable } from '../../support/vireo-cli.js';
import { kvmSkipNote, kvmUsable } from './kvm-env.js';

const tools = linuxGuestToolsAvailable();
const skip = process.env['VIREO_KVM_LINUX'] !== '1' ? 'the Linux boots under KVM run with VIREO_KVM_LINUX=1'
  : !kvmUsable ? 'KVM unusable'
  : existsSync('/sys/module/kvm_pvm') ? 'this host\'s /dev/kvm is PVM (kvm_pvm), which emulates 32-bit guest code in the kernel'
    : !tools.ok ? tools.reason : vireoCliUnavailable();
const BALLOON_MIB = 160;

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function line(out: string, tag: string): string {
  const m = new RegExp(`^${tag} (.*)$`, 'm').exec(out.replace(/\r/g, ''));
  return m?.[1]?.trim() ?? '';
}

describe.skipIf(skip !== '')(`virtio devices under KVM${kvmSkipNote || (skip ? ` (skipped: ${skip})` : '')}`, () => {
  it('blk, scsi, rng, balloon, tablet and the agent port work from inside Linux (MSI-X through KVM_SIGNAL_MSI)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-virtio-kvm-'));
    dirs.push(dir);
    const disk = path.join(dir, 'data.img');
    const firstMibSha = writeVirtioDataDisk(disk, 1);
    const scsiDisk = path.join(dir, 'scsi.img');
    const scsiSha = writeVirtioDataDisk(scsiDisk, null, 4 * 1024 * 1024);
    const sock = path.join(dir, 'qga.sock');
    const iso = buildLinuxTestIso({ script: VIRTIO_GUEST_SCRIPT, modules: VIRTIO_GUEST_MODULES });
    const t0 = performance.now();
    const run = runVireo(['run', '--backend', 'kvm', '--cdrom', iso, '--disk', `${disk},format=raw,if=virtio`, '--disk', `${scsiDisk},format=raw,if=scsi`,
      '--device', 'virtio-rng', '--device', 'virtio-tablet', '--balloon', `${BALLOON_MIB}M`, '--agent-socket', sock,
      '--serial', 'stdio', '--memory', '256M', '--timeout', '420'], { timeoutMs: 480_000 });
    // The agent peer: answers the guest's ping.
    const deadline = Date.now() + 120_000;
    while (!existsSync(sock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const c: Socket = connect(sock);
    let got = '';
    c.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.includes('ping-from-guest\n')) c.write('pong-from-host\n'); });
    c.on('error', () => {});
    const { stdout: out, stderr, status } = await run;
    c.destroy();
    console.log(`virtio Linux on KVM: status ${status} after ${((performance.now() - t0) / 1000).toFixed(1)} s; stderr: ${stderr.slice(-1000)}` +
      (status === 0 ? '' : `\n--- serial (tail) ---\n${out.slice(-3000)}`));
    expect(out).toContain(BOOT_MARKER);
    expect(out).toContain('VIRTIO-SCRIPT-DONE');
    expect(status).toBe(0);
    const dmesg = out.slice(out.indexOf('DMESG-BEGIN'), out.indexOf('DMESG-END'));
    expect(dmesg).toMatch(/IOAPIC\[0\]: apic_id \d+, version \d+, address 0xfec00000, GSI 0-23/);
    expect(dmesg).toMatch(/virtio_blk virtio\d+: \[vda\]/);
    expect(line(out, 'VDA-READ')).toBe(`${firstMibSha}  -`);
    const written = line(out, 'VDA-WRITTEN').split(' ')[0]!;
    expect(out).toContain('VDA-WRITE-OK');
    expect(line(out, 'VDA-REREAD').split(' ')[0]).toBe(written);
    expect(createHash('sha256').update(readFileSync(disk).subarray(1024 * 1024, 2 * 1024 * 1024)).digest('hex')).toBe(written);
    expect(line(out, 'SDA-READ')).toBe(`${scsiSha}  -`);
    expect(line(out, 'INPUT')).toContain('"QEMU Virtio Tablet"');
    expect(line(out, 'RNG-BYTES')).toMatch(/^4096 [0-9a-f]{64}/);
    expect(got).toContain('ping-from-guest\n');
    expect(line(out, 'AGENT-GOT')).toBe('pong-from-host');
    const memTotalKib = Number(line(out, 'MEMTOTAL'));
    expect(memTotalKib).toBeGreaterThan(100_000);
    expect(memTotalKib).toBeLessThan((BALLOON_MIB + 8) * 1024);
  }, 500_000);
});
