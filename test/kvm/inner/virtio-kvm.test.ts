/**
 * The virtio acceptance guest (test/fixtures/virtio-guest.ts, as test/guests/virtio-linux.slow.test.ts
 * boots it on the interpreter) on `vireo run --backend kvm`: Linux drives virtio-blk,
 * virtio-scsi, virtio-net through passt (a DHCP lease, then a page from an HTTP server on
 * 127.0.0.1 through passt's gateway mapping; the nested host's network is a dummy interface,
 * see test/kvm/init), virtio-rng, virtio-balloon, the virtio tablet and the guest agent port
 * through MSI-X, which the in-kernel irqchip receives as KVM_SIGNAL_MSI (a lost MSI leaves
 * the guest waiting on its queue, and the run times out). Runs only where /dev/kvm works and
 * is not PVM (test/kvm/run-nested.sh), with the ISO built on the host beforehand
 * (test/kvm/kvm-fixtures.ts).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOOT_MARKER, buildLinuxTestIso, linuxGuestToolsAvailable } from '../../fixtures/linux-guest.js';
import { VIRTIO_GUEST_MODULES, VIRTIO_GUEST_SCRIPT, writeVirtioDataDisk } from '../../fixtures/virtio-guest.js';
import { agentPeer, expectVirtioFindings, passtMissing, startPageServer, type PageServer } from '../../fixtures/virtio-host.js';
import { runVireo, vireoCliUnavailable } from '../../support/vireo-cli.js';
import { kvmSkipNote, kvmUsable } from './kvm-env.js';

const tools = linuxGuestToolsAvailable();
const skip = process.env['VIREO_KVM_LINUX'] !== '1' ? 'the Linux boots under KVM run in test/kvm/run-nested.sh unless VIREO_KVM_LINUX=0'
  : !kvmUsable ? 'KVM unusable'
  : existsSync('/sys/module/kvm_pvm') ? 'this host\'s /dev/kvm is PVM (kvm_pvm), which emulates 32-bit guest code in the kernel'
    : !tools.ok ? tools.reason : vireoCliUnavailable() || passtMissing();
const BALLOON_MIB = 160;

const dirs: string[] = [];
const servers: PageServer[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(skip !== '')(`virtio devices under KVM${kvmSkipNote || (skip ? ` (skipped: ${skip})` : '')}`, () => {
  it('blk, scsi, net through passt, rng, balloon, tablet and the agent port work from inside Linux (MSI-X through KVM_SIGNAL_MSI)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-virtio-kvm-'));
    dirs.push(dir);
    const disk = path.join(dir, 'data.img');
    const server = await startPageServer();
    servers.push(server);
    const firstMibSha = writeVirtioDataDisk(disk, server.port);
    const scsiDisk = path.join(dir, 'scsi.img');
    const scsiSha = writeVirtioDataDisk(scsiDisk, null, 4 * 1024 * 1024);
    const sock = path.join(dir, 'qga.sock');
    const iso = buildLinuxTestIso({ script: VIRTIO_GUEST_SCRIPT, modules: VIRTIO_GUEST_MODULES });
    const t0 = performance.now();
    const run = runVireo(['run', '--backend', 'kvm', '--cdrom', iso, '--disk', `${disk},format=raw,if=virtio`, '--disk', `${scsiDisk},format=raw,if=scsi`, '--net', 'user',
      '--device', 'virtio-rng', '--device', 'virtio-tablet', '--balloon', `${BALLOON_MIB}M`, '--agent-socket', sock,
      '--serial', 'stdio', '--memory', '256M', '--timeout', '420'], { timeoutMs: 480_000 });
    const agent = await agentPeer(sock, Date.now() + 120_000);
    const { stdout: out, stderr, status } = await run;
    agent.close();
    console.log(`virtio Linux on KVM: status ${status} after ${((performance.now() - t0) / 1000).toFixed(1)} s; stderr: ${stderr.slice(-1000)}` +
      (status === 0 ? '' : `\n--- serial (tail) ---\n${out.slice(-3000)}`));
    expect(out).toContain(BOOT_MARKER);
    expect(out).toContain('VIRTIO-SCRIPT-DONE');
    expect(status).toBe(0);
    expectVirtioFindings(out, { dataDisk: disk, firstMibSha, scsiSha, page: server.page, agentGot: agent.got(), balloonMib: BALLOON_MIB });
  }, 500_000);
});
