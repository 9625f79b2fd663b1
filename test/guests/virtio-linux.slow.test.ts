/**
 * The virtio issue's acceptance with a real Linux guest (Debian's i386 kernel, its own
 * virtio drivers as modules): one `vireo run` with a virtio-blk data disk, a virtio-scsi disk, virtio-net
 * through passt, virtio-rng, virtio-balloon asked to shrink the guest to 160 MiB, and
 * virtio-serial with the guest agent port bridged to a UNIX socket. The guest script
 * (test/fixtures/virtio-guest.ts) prints what it saw; this test checks each finding
 * against the host side: disk bytes by SHA-256 in both directions, a DHCP lease from
 * passt and a page fetched from an HTTP server on the host's 127.0.0.1 through passt's
 * gateway mapping, bytes from /dev/hwrng, MemTotal after inflation, agent bytes both ways.
 * The same boot's dmesg is the platform issue's evidence (ACPI tables, IOAPIC, HPET).
 *
 * A Linux boot on the interpreter takes minutes: only in `npm run test:slow` (VIREO_SLOW=1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOOT_MARKER, buildLinuxTestIso, linuxGuestToolsAvailable } from '../fixtures/linux-guest.js';
import { VIRTIO_GUEST_MODULES, VIRTIO_GUEST_SCRIPT, writeVirtioDataDisk } from '../fixtures/virtio-guest.js';
import { agentPeer, expectVirtioFindings, passtMissing, startPageServer, type PageServer } from '../fixtures/virtio-host.js';
import { REPO_ROOT, runVireo, vireoCliUnavailable } from '../support/vireo-cli.js';

const tools = linuxGuestToolsAvailable();
const skip = process.env['VIREO_SLOW'] !== '1' ? 'set VIREO_SLOW=1 (npm run test:slow)'
  : !tools.ok ? tools.reason : vireoCliUnavailable() || passtMissing();

const TIMEOUT_S = 1800;
const MEMORY_MIB = 256;
const BALLOON_MIB = 160;

const dirs: string[] = [];
const servers: PageServer[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(skip !== '')(`virtio devices seen by a Linux guest${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('blk, net through passt, rng, balloon and the guest agent port all work from inside Linux', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-virtio-'));
    dirs.push(dir);
    const server = await startPageServer();
    servers.push(server);
    const { port, page } = server;
    const disk = path.join(dir, 'data.img');
    const firstMibSha = writeVirtioDataDisk(disk, port);
    const scsiDisk = path.join(dir, 'scsi.img');
    const scsiSha = writeVirtioDataDisk(scsiDisk, null, 4 * 1024 * 1024);
    const sock = path.join(dir, 'qga.sock');
    const iso = buildLinuxTestIso({ script: VIRTIO_GUEST_SCRIPT, modules: VIRTIO_GUEST_MODULES });

    const run = runVireo(['run', '--cdrom', iso, '--disk', `${disk},format=raw,if=virtio`, '--disk', `${scsiDisk},format=raw,if=scsi`, '--net', 'user',
      '--device', 'virtio-rng', '--device', 'virtio-tablet', '--balloon', `${BALLOON_MIB}M`, '--agent-socket', sock,
      '--serial', 'stdio', '--memory', `${MEMORY_MIB}M`, '--timeout', String(TIMEOUT_S)],
      { timeoutMs: (TIMEOUT_S + 60) * 1000, teeTo: path.join(REPO_ROOT, 'test-results', 'virtio-linux-serial.txt') });
    const agent = await agentPeer(sock, Date.now() + 60_000);
    const { stdout: out, stderr, status } = await run;
    agent.close();

    expect(out).toContain(BOOT_MARKER);
    expect(out).toContain('VIRTIO-SCRIPT-DONE');
    expect(stderr).toBe('');
    expect(status).toBe(0);

    expectVirtioFindings(out, { dataDisk: disk, firstMibSha, scsiSha, page, agentGot: agent.got(), balloonMib: BALLOON_MIB });
  }, (TIMEOUT_S + 120) * 1000);
});
