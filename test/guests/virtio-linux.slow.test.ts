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
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOOT_MARKER, buildLinuxTestIso, linuxGuestToolsAvailable } from '../fixtures/linux-guest.js';
import { VIRTIO_GUEST_MODULES, VIRTIO_GUEST_SCRIPT, writeVirtioDataDisk } from '../fixtures/virtio-guest.js';
import { agentPeer, guestLine as line, netFindings, startPageServer, type PageServer } from '../fixtures/virtio-host.js';
import { REPO_ROOT, runVireo, vireoCliUnavailable } from '../support/vireo-cli.js';

const tools = linuxGuestToolsAvailable();
const passt = spawnSync('sh', ['-c', 'command -v passt'], { stdio: 'ignore' }).status === 0;
const skip = process.env['VIREO_SLOW'] !== '1' ? 'set VIREO_SLOW=1 (npm run test:slow)'
  : !tools.ok ? tools.reason : vireoCliUnavailable() || (passt ? '' : 'passt is not installed (run scripts/setup.sh)');

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

    // Platform (ACPI tables from fw_cfg, IOAPIC, HPET) in the same boot's dmesg.
    const dmesg = out.slice(out.indexOf('DMESG-BEGIN'), out.indexOf('DMESG-END'));
    expect(dmesg).toMatch(/ACPI: RSDP 0x[0-9A-F]+ 0000(14|24) \(v0[02] /);
    for (const table of ['FACP', 'DSDT', 'APIC', 'HPET']) expect(dmesg).toMatch(new RegExp(`ACPI: ${table} 0x[0-9A-F]+ [0-9A-F]+ \\(v0\\d VIREO  VIREOPC `));
    expect(dmesg).toMatch(/ACPI: HPET id: 0x[0-9a-f]+ base: 0xfed00000/);
    expect(dmesg).toMatch(/IOAPIC\[0\]: apic_id \d+, version \d+, address 0xfec00000, GSI 0-23/);
    expect(dmesg).toMatch(/hpet0: at MMIO 0xfed00000/);
    expect(dmesg).toMatch(/virtio_blk virtio\d+: \[vda\]/);

    // virtio-blk: the first MiB as the host wrote it; the guest's MiB in the image file.
    expect(line(out, 'BLOCK vda')).toMatch(/^16384\b/); // 8 MiB in 512-byte sectors
    expect(line(out, 'VDA-READ')).toBe(`${firstMibSha}  -`);
    const written = line(out, 'VDA-WRITTEN').split(' ')[0]!;
    expect(written).toMatch(/^[0-9a-f]{64}$/);
    expect(out).toContain('VDA-WRITE-OK');
    expect(line(out, 'VDA-REREAD').split(' ')[0]).toBe(written);
    const image = readFileSync(disk);
    expect(createHash('sha256').update(image.subarray(1024 * 1024, 2 * 1024 * 1024)).digest('hex')).toBe(written);

    // virtio-scsi: the disk is sd*, with QEMU's identity, and reads as the host wrote it.
    expect(line(out, 'BLOCK sda')).toMatch(/^8192 QEMU\s+QEMU HARDDISK/);
    expect(line(out, 'SDA-READ')).toBe(`${scsiSha}  -`);
    expect(dmesg).toMatch(/scsi host\d+: Virtio SCSI HBA/);

    // virtio-input: the tablet is an input device.
    expect(line(out, 'INPUT')).toContain('"QEMU Virtio Tablet"');

    // virtio-rng behind /dev/hwrng.
    expect(line(out, 'RNG-CURRENT')).toMatch(/^virtio_rng\.\d+$/);
    expect(line(out, 'RNG-BYTES')).toMatch(/^4096 [0-9a-f]{64}/);

    // virtio-serial: the named port exists and bytes pass both ways.
    expect(out).toMatch(/^VPORT vport\d+p1 org\.qemu\.guest_agent\.0/m);
    expect(agent.got()).toContain('ping-from-guest\n');
    expect(line(out, 'AGENT-GOT')).toBe('pong-from-host');

    // virtio-balloon: 96 MiB inflated out of MemTotal.
    const memTotalKib = Number(line(out, 'MEMTOTAL'));
    expect(memTotalKib).toBeGreaterThan(100_000);
    expect(memTotalKib).toBeLessThan((BALLOON_MIB + 8) * 1024);

    // virtio-net through passt: a lease, then the host's 127.0.0.1 server via the gateway.
    const net = netFindings(out);
    expect(net.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(net.lease).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+ gateway \d+\.\d+\.\d+\.\d+$/);
    expect(net.wget).toContain(page);
  }, (TIMEOUT_S + 120) * 1000);
});
