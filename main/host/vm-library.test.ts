import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, type VmConfig, type VmConfigDraft } from '../../protocol/index.js';
import { VmLibrary, type LibraryChange } from './vm-library.js';

const draft = (over: Partial<VmConfigDraft> = {}): VmConfigDraft => ({
  name: 'Debian', os: { id: 'debian13', name: 'Debian 13' }, cpus: 2, memoryMiB: 2048, ...over,
});

async function expectApiError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).code).toBe(code);
  expect((err as ApiError).message).toMatch(message);
}

describe('VmLibrary', () => {
  let dataDir: string;
  beforeEach(async () => { dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-lib-')); });
  afterEach(async () => { await rm(dataDir, { recursive: true, force: true }); });

  const open = (): Promise<VmLibrary> =>
    VmLibrary.open({ dataDir, now: () => new Date('2026-01-02T03:04:05.000Z') });

  it('creates a VM with a fresh id, version and createdAt, stored as <dataDir>/vms/<id>.json', async () => {
    const lib = await open();
    const vm = await lib.create(draft());
    expect(vm.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(vm.version).toBe(1);
    expect(vm.createdAt).toBe('2026-01-02T03:04:05.000Z');
    expect(vm.firmware).toBe('bios');
    const stored = JSON.parse(await readFile(path.join(dataDir, 'vms', `${vm.id}.json`), 'utf8')) as VmConfig;
    expect(stored).toEqual(vm);
    expect(await readdir(path.join(dataDir, 'vms'))).toEqual([`${vm.id}.json`]);
  });

  it('loads every VM at open', async () => {
    const first = await open();
    const a = await first.create(draft({ name: 'b-vm' }));
    const b = await first.create(draft({ name: 'a-vm' }));
    const second = await open();
    expect(second.list().vms.map((v) => v.id)).toEqual([b.id, a.id]);
    expect(second.list().errors).toEqual([]);
    expect(second.get(a.id)).toEqual(a);
  });

  it('refuses a duplicate name case-insensitively with a conflict naming the field', async () => {
    const lib = await open();
    await lib.create(draft({ name: 'Win11' }));
    await expectApiError(lib.create(draft({ name: ' win11 ' })), 'conflict', /^name: a VM named "Win11" already exists/);
    // Concurrent creates are serialized: exactly one wins.
    const results = await Promise.allSettled([lib.create(draft({ name: 'x' })), lib.create(draft({ name: 'X' }))]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('rejects an invalid draft with errors naming the field', async () => {
    const lib = await open();
    await expectApiError(lib.create(draft({ cpus: 0 })), 'bad-request', /^cpus: cpus must be at least 1/);
    await expectApiError(lib.create({ ...draft(), memoryMiB: 'lots' }), 'bad-request', /memoryMiB/);
    await expectApiError(lib.create(draft({ name: '   ' })), 'bad-request', /^name: name must not be empty/);
    expect(lib.list().vms).toEqual([]);
  });

  it('isolates a corrupt file: bad JSON and schema errors are reported by file with the field, others load', async () => {
    const lib = await open();
    const good = await lib.create(draft({ name: 'good' }));
    const vmsDir = path.join(dataDir, 'vms');
    await writeFile(path.join(vmsDir, 'broken-json.json'), '{ "version": 1, ');
    await writeFile(path.join(vmsDir, 'bad-schema.json'),
      JSON.stringify({ ...good, id: 'bad-schema', name: 'other', cpus: 0 }));
    await writeFile(path.join(vmsDir, 'not-an-object.json'), '[1,2]');
    await writeFile(path.join(vmsDir, 'aaaaaaaa-mismatch.json'), JSON.stringify({ ...good, name: 'copy' }));
    await writeFile(path.join(vmsDir, `.${good.id}.json.abc123.tmp`), 'leftover of a crash');
    await writeFile(path.join(vmsDir, 'notes.txt'), 'ignored');
    const reopened = await open();
    const { vms, errors } = reopened.list();
    expect(vms.map((v) => v.id)).toEqual([good.id]);
    const byFile = Object.fromEntries(errors.map((e) => [path.basename(e.file), e.error]));
    expect(Object.keys(byFile).sort()).toEqual(['aaaaaaaa-mismatch.json', 'bad-schema.json', 'broken-json.json', 'not-an-object.json']);
    expect(byFile['broken-json.json']).toMatch(/^not valid JSON/);
    expect(byFile['bad-schema.json']).toBe('cpus: cpus must be at least 1');
    expect(byFile['not-an-object.json']).toMatch(/expected a JSON object/);
    expect(byFile['aaaaaaaa-mismatch.json']).toMatch(/^id: .* does not match the file name/);
    expect(errors.every((e) => path.isAbsolute(e.file))).toBe(true);
  });

  it('migrates a version-0 document (no version field) at load', async () => {
    const vmsDir = path.join(dataDir, 'vms');
    await mkdir(vmsDir, { recursive: true });
    const legacy = { id: 'legacy-vm-1', name: 'old', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64, createdAt: 'then' };
    await writeFile(path.join(vmsDir, 'legacy-vm-1.json'), JSON.stringify(legacy));
    const lib = await open();
    expect(lib.list().errors).toEqual([]);
    expect(lib.get('legacy-vm-1').version).toBe(1);
  });

  it('updates a VM, keeping createdAt and name uniqueness', async () => {
    const lib = await open();
    const a = await lib.create(draft({ name: 'a' }));
    await lib.create(draft({ name: 'b' }));
    const updated = await lib.update(a.id, { ...a, memoryMiB: 4096, createdAt: 'forged' });
    expect(updated.memoryMiB).toBe(4096);
    expect(updated.createdAt).toBe(a.createdAt);
    expect((await open()).get(a.id).memoryMiB).toBe(4096);
    await expectApiError(lib.update(a.id, { ...a, name: 'B' }), 'conflict', /^name:/);
    await expectApiError(lib.update(a.id, { ...a, id: 'someone-else' }), 'bad-request', /^config\.id:/);
    await expectApiError(lib.update(a.id, { ...a, cpus: 65 }), 'bad-request', /^cpus: cpus must be at most 64/);
    await expectApiError(lib.update('missing-id', a), 'not-found', /^id: no VM with id "missing-id"/);
    // Renaming to a different case of its own name is fine.
    expect((await lib.update(a.id, { ...a, name: 'A' })).name).toBe('A');
  });

  it('deletes a VM, keeping its disk images unless listed', async () => {
    const lib = await open();
    const disk = path.join(dataDir, 'disk.qcow2');
    const iso = path.join(dataDir, 'install.iso');
    await writeFile(disk, 'disk');
    await writeFile(iso, 'iso');
    const vm = await lib.create(draft({
      drives: [
        { id: 'd0', kind: 'disk', path: disk, format: 'qcow2' },
        { id: 'cd0', kind: 'cdrom', path: iso, format: 'iso' },
      ],
    }));
    expect(await lib.delete(vm.id)).toEqual({ deletedFiles: [], failedFiles: [] });
    expect(await readFile(disk, 'utf8')).toBe('disk');
    expect(lib.list().vms).toEqual([]);
    expect((await open()).list().vms).toEqual([]);
    await expectApiError(lib.delete(vm.id), 'not-found', /no VM/);
  });

  it('deletes only listed images that belong to the VM disk drives; otherwise deletes nothing', async () => {
    const lib = await open();
    const disk = path.join(dataDir, 'disk.img');
    const iso = path.join(dataDir, 'install.iso');
    const foreign = path.join(dataDir, 'someone-elses.img');
    for (const f of [disk, iso, foreign]) await writeFile(f, 'x');
    const vm = await lib.create(draft({
      drives: [
        { id: 'd0', kind: 'disk', path: disk, format: 'raw' },
        { id: 'cd0', kind: 'cdrom', path: iso, format: 'iso' },
      ],
    }));
    await expectApiError(lib.delete(vm.id, [disk, foreign]), 'bad-request', /^deleteDrivePaths\.1: .*someone-elses\.img/);
    await expectApiError(lib.delete(vm.id, [iso]), 'bad-request', /^deleteDrivePaths\.0: .*install\.iso/);
    expect(lib.get(vm.id).id).toBe(vm.id);
    expect(await readFile(disk, 'utf8')).toBe('x');
    const outcome = await lib.delete(vm.id, [path.join(dataDir, '.', 'disk.img')]);
    expect(outcome).toEqual({ deletedFiles: [disk], failedFiles: [] });
    await expect(readFile(disk)).rejects.toThrow(/ENOENT/);
    expect(await readFile(iso, 'utf8')).toBe('x');
    expect(await readFile(foreign, 'utf8')).toBe('x');
  });

  it('emits changed and removed events', async () => {
    const lib = await open();
    const seen: LibraryChange[] = [];
    const off = lib.on((c) => seen.push(c));
    const vm = await lib.create(draft());
    await lib.update(vm.id, { ...vm, cpus: 4 });
    await lib.delete(vm.id);
    off();
    await lib.create(draft({ name: 'after unsubscribe' }));
    expect(seen.map((c) => c.kind)).toEqual(['changed', 'changed', 'removed']);
    expect(seen[1]).toMatchObject({ kind: 'changed', config: { id: vm.id, cpus: 4 } });
    expect(seen[2]).toEqual({ kind: 'removed', id: vm.id });
  });

  it('keeps the previous document and in-memory state when a write fails', async () => {
    const failing = { rename: async (): Promise<void> => { throw new Error('EIO: injected'); } };
    const lib = await open();
    const vm = await lib.create(draft());
    const broken = await VmLibrary.open({ dataDir, fileOps: failing });
    await expect(broken.update(vm.id, { ...vm, cpus: 8 })).rejects.toThrow(/injected/);
    expect(broken.get(vm.id).cpus).toBe(2);
    await expect(broken.create(draft({ name: 'new' }))).rejects.toThrow(/injected/);
    expect(broken.list().vms).toHaveLength(1);
    expect((await open()).get(vm.id).cpus).toBe(2);
  });
});
