/**
 * vm.update on a running VM through the host API with the real worker: only CD-ROM media
 * changes are accepted (applied to the machine, then saved); anything else is a conflict
 * naming the fields. Needs `npm run build` and xorriso.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResultMessage, VmEntry } from '../../protocol/index.js';
import { createHostApi, type HostApi } from './host-api.js';
import { BUILT_WORKER_URL, builtWorkerMissing } from './test-support/fake-workers.js';
import { VmLibrary } from './vm-library.js';
import { VmSupervisor } from './vm-supervisor.js';

const missing = builtWorkerMissing() ?? (spawnSync('sh', ['-c', 'command -v xorriso'], { stdio: 'ignore' }).status === 0 ? null : 'xorriso is not installed');

function makeIso(dir: string, label: string): string {
  const root = path.join(dir, `${label}-root`);
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'README.TXT'), `${label}\n`);
  const iso = path.join(dir, `${label}.iso`);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', label, '-o', iso, root], { stdio: 'ignore' });
  return iso;
}

describe.skipIf(missing !== null)(`vm.update while running${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dataDir: string | undefined;
  let api: HostApi | undefined;
  let supervisor: VmSupervisor | undefined;
  afterEach(async () => {
    await api?.close();
    await supervisor?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('changes the CD-ROM medium of the running machine and saves it; refuses other changes', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-upd-run-'));
    const iso = makeIso(dataDir, 'MEDIA_A');
    supervisor = new VmSupervisor({ workerUrl: BUILT_WORKER_URL });
    api = createHostApi({ library: await VmLibrary.open({ dataDir }), shell: 'electron', version: 't', supervisor });
    let seq = 1;
    const call = (method: string, params: unknown): Promise<ResultMessage> => api!.handleMessage({ kind: 'call', id: seq++, method, params });
    const created = await call('vm.create', {
      draft: {
        // The interpreter explicitly: `auto` would take KVM on a host with a usable /dev/kvm.
        name: 'Media', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64, network: { mode: 'none', model: 'virtio' }, backend: 'interp',
        drives: [{ id: 'cd0', kind: 'cdrom', path: '', format: 'iso', readOnly: true }],
      },
    });
    const entry = (created.ok ? created.result : null) as VmEntry;
    const id = entry.config.id;
    expect(await call('vm.start', { id })).toMatchObject({ ok: true, result: { state: 'running', backendInUse: 'interp' } });

    const withIso = { ...entry.config, drives: [{ ...entry.config.drives[0]!, path: iso }] };
    expect(await call('vm.update', { id, config: withIso })).toMatchObject({ ok: true, result: { state: 'running' } });
    const stored = JSON.parse(await readFile(path.join(dataDir, 'vms', `${id}.json`), 'utf8')) as { drives: { path: string }[] };
    expect(stored.drives[0]?.path).toBe(iso);

    const notIso = path.join(dataDir, 'page.iso');
    writeFileSync(notIso, '<!DOCTYPE html>\n'.repeat(200));
    const bad = await call('vm.update', { id, config: { ...withIso, drives: [{ ...withIso.drives[0]!, path: notIso }] } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/page\.iso/) as unknown } });
    expect(JSON.parse(await readFile(path.join(dataDir, 'vms', `${id}.json`), 'utf8'))).toMatchObject({ drives: [{ path: iso }] });

    const more = await call('vm.update', { id, config: { ...withIso, memoryMiB: 128, cpus: 2 } });
    expect(more).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringMatching(/^cpus, memoryMiB: VM "Media" is running; only CD-ROM media can change/) as unknown } });

    expect(await call('vm.update', { id, config: { ...withIso, drives: [{ ...withIso.drives[0]!, path: '' }] } })).toMatchObject({ ok: true });
    expect(await call('vm.forceOff', { id })).toMatchObject({ ok: true, result: { state: 'stopped' } });
  }, 120_000);
});
