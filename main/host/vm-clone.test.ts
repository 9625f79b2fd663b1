/** vm.clone through the host API: config copies, disk copies next to the originals, no overwrites, unique names. */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiResult, ResultMessage, VmEntry } from '../../protocol/index.js';
import { createHostApi, type HostApi } from './host-api.js';
import { createEchoWorker } from './test-support/fake-workers.js';
import { cloneDiskTargets, fileSlug } from './vm-clone.js';
import { VmLibrary } from './vm-library.js';
import { VmSupervisor } from './vm-supervisor.js';

describe('vm.clone', () => {
  let dataDir: string;
  let api: HostApi;
  let supervisor: VmSupervisor;
  let seq = 1;
  const call = async (method: string, params: unknown): Promise<ResultMessage> =>
    api.handleMessage({ kind: 'call', id: seq++, method, params });
  const ok = <T>(r: ResultMessage): T => {
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.result as T;
  };

  let source: VmEntry;
  let diskA: string;
  let diskB: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-clone-'));
    supervisor = new VmSupervisor({ createWorker: () => createEchoWorker() });
    api = createHostApi({ library: await VmLibrary.open({ dataDir }), shell: 'electron', version: 't', supervisor });
    diskA = path.join(dataDir, 'alpine.qcow2');
    diskB = path.join(dataDir, 'data.img');
    await writeFile(diskA, Buffer.from('QFI\xfb fake qcow2 bytes', 'latin1'));
    await writeFile(diskB, Buffer.alloc(3 * 65536 + 17, 7));
    source = ok<VmEntry>(await call('vm.create', {
      draft: {
        name: 'Alpine', os: { id: 'alpine', name: 'Alpine Linux' }, cpus: 2, memoryMiB: 512,
        drives: [
          { id: 'disk0', kind: 'disk', path: diskA, format: 'qcow2' },
          { id: 'cd0', kind: 'cdrom', path: '/isos/alpine.iso', format: 'iso', readOnly: true },
          { id: 'disk1', kind: 'disk', path: diskB, format: 'raw', bus: 'virtio' },
        ],
      },
    }));
  });
  afterEach(async () => {
    await api.close();
    await supervisor.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('names the copies after the clone, next to the originals', () => {
    expect(fileSlug('My VM (2)')).toBe('my-vm-2');
    expect(fileSlug('  ***  ')).toBe('vm');
    const t = cloneDiskTargets(source.config, 'Alpine copy');
    expect([...t.entries()]).toEqual([
      ['disk0', { from: diskA, to: path.join(dataDir, 'alpine-copy.qcow2') }],
      ['disk1', { from: diskB, to: path.join(dataDir, 'alpine-copy-2.img') }],
    ]);
  });

  it('clones the configuration only: new id and name, shared images', async () => {
    const r = ok<ApiResult<'vm.clone'>>(await call('vm.clone', { id: source.config.id, name: 'Alpine 2', copyDisks: false }));
    expect(r.copiedFiles).toEqual([]);
    expect(r.entry.config.id).not.toBe(source.config.id);
    expect(r.entry.config).toMatchObject({ name: 'Alpine 2', cpus: 2, memoryMiB: 512, drives: source.config.drives });
    const list = ok<ApiResult<'vm.list'>>(await call('vm.list', {}));
    expect(list.vms.map((v) => v.config.name)).toEqual(['Alpine', 'Alpine 2']);
  });

  it('copies each disk byte for byte with copyDisks; CD-ROMs stay shared', async () => {
    const r = ok<ApiResult<'vm.clone'>>(await call('vm.clone', { id: source.config.id, name: 'Alpine copy', copyDisks: true }));
    const a2 = path.join(dataDir, 'alpine-copy.qcow2');
    const b2 = path.join(dataDir, 'alpine-copy-2.img');
    expect(r.copiedFiles).toEqual([{ from: diskA, to: a2 }, { from: diskB, to: b2 }]);
    expect(await readFile(a2)).toEqual(await readFile(diskA));
    expect(await readFile(b2)).toEqual(await readFile(diskB));
    expect(r.entry.config.drives.map((d) => d.path)).toEqual([a2, '/isos/alpine.iso', b2]);
    expect(r.entry.config.drives[2]).toMatchObject({ bus: 'virtio', format: 'raw' });
  });

  it('refuses to overwrite an existing image and leaves nothing behind', async () => {
    const b2 = path.join(dataDir, 'alpine-copy-2.img');
    await writeFile(b2, 'precious');
    const r = await call('vm.clone', { id: source.config.id, name: 'Alpine copy', copyDisks: true });
    expect(r).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringMatching(/alpine-copy-2\.img already exists/) as unknown } });
    expect(await readFile(b2, 'utf8')).toBe('precious');
    expect(existsSync(path.join(dataDir, 'alpine-copy.qcow2'))).toBe(false);
    expect(ok<ApiResult<'vm.list'>>(await call('vm.list', {})).vms).toHaveLength(1);
  });

  it('refuses a name already taken (case-insensitively) before copying anything', async () => {
    const r = await call('vm.clone', { id: source.config.id, name: 'ALPINE', copyDisks: true });
    expect(r).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringMatching(/^name: a VM named "Alpine" already exists/) as unknown } });
    expect(existsSync(path.join(dataDir, 'alpine.qcow2'))).toBe(true);
    expect(existsSync(path.join(dataDir, 'alpine-2.qcow2'))).toBe(false);
    expect(await call('vm.clone', { id: source.config.id, name: ' ', copyDisks: false })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await call('vm.clone', { id: 'nope-nope', name: 'X', copyDisks: false })).toMatchObject({ ok: false, error: { code: 'not-found' } });
  });

  it('refuses to copy the disks of a running VM; a config-only clone is fine', async () => {
    ok(await call('vm.start', { id: source.config.id }));
    expect(await call('vm.clone', { id: source.config.id, name: 'Hot copy', copyDisks: true })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(existsSync(path.join(dataDir, 'hot-copy.qcow2'))).toBe(false);
    expect(await call('vm.clone', { id: source.config.id, name: 'Hot copy', copyDisks: false })).toMatchObject({ ok: true });
    ok(await call('vm.forceOff', { id: source.config.id }));
  });
});
