import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VmConfig } from '../../protocol/index.js';
import { BUILT_WORKER_URL, builtWorkerMissing } from './test-support/fake-workers.js';
import { VmSupervisor } from './vm-supervisor.js';

const missing = builtWorkerMissing() ?? (spawnSync('sh', ['-c', 'command -v xorriso'], { stdio: 'ignore' }).status === 0 ? null : 'xorriso is not installed');

/** A small ISO 9660 image with one file. */
function makeIso(dir: string, label: string): string {
  const root = path.join(dir, `${label}-root`);
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'README.TXT'), `${label}\n`);
  const iso = path.join(dir, `${label}.iso`);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', label, '-o', iso, root], { stdio: 'ignore' });
  return iso;
}

describe.skipIf(missing !== null)(`CD-ROM media change on a running VM${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let sup: VmSupervisor | undefined;
  afterEach(async () => { await sup?.close(); sup = undefined; });

  it('inserts an ISO into an empty drive, swaps it, ejects it, and refuses a non-ISO keeping the old medium', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-cd-'));
    const a = makeIso(dir, 'VIRTIO_WIN');
    const b = makeIso(dir, 'SECOND');
    const html = path.join(dir, 'page.iso');
    writeFileSync(html, '<!DOCTYPE html><html><body>not an iso</body></html>\n'.repeat(100));
    sup = new VmSupervisor({ workerUrl: BUILT_WORKER_URL, describeVm: (id) => `VM "${id}"` });
    const id = 'test-vm-cd01';
    await sup.start(VmConfig.parse({
      version: 1, id, name: 'CD', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64, createdAt: '2026-01-01T00:00:00.000Z',
      drives: [{ id: 'cd0', kind: 'cdrom', path: '', format: 'iso', bus: 'ide', readOnly: true }],
    }));
    await sup.changeCdrom(id, 0, a);
    await sup.changeCdrom(id, 0, b);
    await expect(sup.changeCdrom(id, 0, html)).rejects.toThrow(/page\.iso/);
    await sup.changeCdrom(id, 0, null);
    await expect(sup.changeCdrom(id, 5, a)).rejects.toThrow(/drive 5 is not a CD-ROM drive/);
    expect(sup.stateOf(id).state).toBe('running');
  }, 120_000);
});
