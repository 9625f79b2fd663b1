import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostInfo, VmEntry, type EventMessage, type ResultMessage } from '../../protocol/index.js';
import { createHostApi, type HostApi } from './host-api.js';
import { createEchoWorker } from './test-support/fake-workers.js';
import { VmLibrary } from './vm-library.js';
import { VmSupervisor } from './vm-supervisor.js';

const draft = { name: 'Alpine', os: { id: 'alpine', name: 'Alpine Linux' }, cpus: 1, memoryMiB: 512 };

function errorOf(r: ResultMessage): { code: string; message: string } {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.result)}`);
  return r.error;
}

describe('host API dispatcher', () => {
  let dataDir: string;
  let api: HostApi;
  let events: EventMessage[];
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-api-'));
    api = createHostApi({ library: await VmLibrary.open({ dataDir }), shell: 'server', version: '1.2.3' });
    events = [];
    api.onEvent((e) => events.push(e));
  });
  afterEach(async () => {
    api.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers host.info from the OS', async () => {
    const r = await api.handleMessage({ kind: 'call', id: 1, method: 'host.info', params: {} });
    expect(r.ok).toBe(true);
    const info = HostInfo.parse(r.ok ? r.result : null);
    expect(info).toMatchObject({ shell: 'server', version: '1.2.3', cpus: os.cpus().length, memoryBytes: os.totalmem() });
  });

  it('creates, lists, gets, updates and deletes, emitting events', async () => {
    const created = await api.handleMessage({ kind: 'call', id: 2, method: 'vm.create', params: { draft } });
    expect(created).toMatchObject({ kind: 'result', id: 2, ok: true });
    const entry = VmEntry.parse(created.ok ? created.result : null);
    expect(entry.state).toBe('stopped');
    const list = await api.handleMessage({ kind: 'call', id: 3, method: 'vm.list', params: {} });
    expect(list.ok && list.result).toEqual({ vms: [entry], errors: [] });
    const got = await api.handleMessage({ kind: 'call', id: 4, method: 'vm.get', params: { id: entry.config.id } });
    expect(got.ok && got.result).toEqual(entry);
    const upd = await api.handleMessage({
      kind: 'call', id: 5, method: 'vm.update', params: { id: entry.config.id, config: { ...entry.config, cpus: 2 } },
    });
    expect(upd.ok).toBe(true);
    const del = await api.handleMessage({ kind: 'call', id: 6, method: 'vm.delete', params: { id: entry.config.id } });
    expect(del).toEqual({ kind: 'result', id: 6, ok: true, result: { deletedFiles: [] } });
    expect(events.map((e) => e.event)).toEqual(['vm.changed', 'vm.changed', 'vm.removed']);
    expect(events[2]?.payload).toEqual({ id: entry.config.id });
  });

  it('rejects malformed messages and params with bad-request naming the field', async () => {
    expect(errorOf(await api.handleMessage('nope'))).toMatchObject({ code: 'bad-request' });
    expect((await api.handleMessage('nope')).id).toBe(-1);
    const noKind = await api.handleMessage({ id: 7, method: 'vm.list', params: {} });
    expect(noKind.id).toBe(7);
    expect(errorOf(noKind).message).toMatch(/message\.kind/);
    expect(errorOf(await api.handleMessage({ kind: 'call', id: 8, method: 'vm.explode', params: {} })).message)
      .toMatch(/^method: unknown method "vm.explode"/);
    const badCpus = await api.handleMessage({ kind: 'call', id: 9, method: 'vm.create', params: { draft: { ...draft, cpus: 'two' } } });
    expect(errorOf(badCpus)).toMatchObject({ code: 'bad-request' });
    expect(errorOf(badCpus).message).toMatch(/^params\.draft\.cpus: /);
    const extra = await api.handleMessage({ kind: 'call', id: 10, method: 'vm.list', params: { sneaky: true } });
    expect(errorOf(extra).message).toMatch(/^params: .*sneaky/);
    const noId = await api.handleMessage({ kind: 'call', id: 11, method: 'vm.get', params: {} });
    expect(errorOf(noId).message).toMatch(/^params\.id: /);
  });

  it('maps library errors to their codes', async () => {
    await api.handleMessage({ kind: 'call', id: 1, method: 'vm.create', params: { draft } });
    const dup = await api.handleMessage({ kind: 'call', id: 2, method: 'vm.create', params: { draft: { ...draft, name: 'ALPINE' } } });
    expect(errorOf(dup)).toMatchObject({ code: 'conflict', message: expect.stringMatching(/^name: /) as unknown });
    const missing = await api.handleMessage({ kind: 'call', id: 3, method: 'vm.get', params: { id: 'nope' } });
    expect(errorOf(missing).code).toBe('not-found');
  });

  it('answers dialog.openFile with unsupported without a dialog provider, and uses one when injected', async () => {
    const r = await api.handleMessage({ kind: 'call', id: 1, method: 'dialog.openFile', params: {} });
    expect(errorOf(r)).toMatchObject({ code: 'unsupported' });
    const withDialog = createHostApi({
      library: await VmLibrary.open({ dataDir }), shell: 'electron', version: '1',
      dialog: { openFile: async (o) => `/picked/${o.title ?? ''}` },
    });
    const picked = await withDialog.handleMessage({ kind: 'call', id: 2, method: 'dialog.openFile', params: { title: 'iso' } });
    expect(picked.ok && picked.result).toEqual({ path: '/picked/iso' });
    withDialog.dispose();
  });

  it('turns an unexpected handler failure into an internal error', async () => {
    api.handlers['vm.list'] = async () => { throw new Error('disk on fire'); };
    const r = await api.handleMessage({ kind: 'call', id: 1, method: 'vm.list', params: {} });
    expect(errorOf(r)).toEqual({ code: 'internal', message: 'vm.list: disk on fire' });
  });

  it('runs VMs: lifecycle methods, live state in vm.changed, conflicts while running, test hooks', async () => {
    const supervisor = new VmSupervisor({ createWorker: () => createEchoWorker() });
    const hooked = createHostApi({ library: await VmLibrary.open({ dataDir }), shell: 'server', version: '1', supervisor, testHooks: true });
    const seen: EventMessage[] = [];
    hooked.onEvent((e) => seen.push(e));
    try {
      const created = await hooked.handleMessage({ kind: 'call', id: 1, method: 'vm.create', params: { draft } });
      const entry = VmEntry.parse(created.ok ? created.result : null);
      const id = entry.config.id;
      const call = (method: string, n: number) => hooked.handleMessage({ kind: 'call', id: n, method, params: { id } });
      expect(await call('vm.start', 2)).toMatchObject({ ok: true, result: { state: 'running' } });
      expect(await call('vm.get', 3)).toMatchObject({ ok: true, result: { state: 'running' } });
      expect(await call('vm.screenText', 4)).toMatchObject({ ok: true, result: { text: 'fake screen' } });
      expect(errorOf(await call('vm.start', 5))).toEqual({ code: 'conflict', message: 'VM "Alpine" is already running' });
      const upd = await hooked.handleMessage({ kind: 'call', id: 6, method: 'vm.update', params: { id, config: { ...entry.config, cpus: 2 } } });
      expect(errorOf(upd)).toEqual({ code: 'conflict', message: 'cpus: VM "Alpine" is running; only CD-ROM media can change while it runs; shut it down to apply the other changes' });
      expect(await call('vm.pause', 7)).toMatchObject({ ok: true, result: { state: 'paused' } });
      expect(await call('vm.resume', 8)).toMatchObject({ ok: true, result: { state: 'running' } });
      expect(await call('test.killWorker', 9)).toMatchObject({ ok: true });
      for (let i = 0; i < 100 && supervisor.stateOf(id).state !== 'crashed'; i++) await new Promise((r) => setTimeout(r, 50));
      const crashed = seen.filter((e) => e.event === 'vm.changed').map((e) => VmEntry.parse(e.payload)).at(-1);
      expect(crashed).toMatchObject({ state: 'crashed', stateReason: expect.stringMatching(/exited unexpectedly/) as unknown });
      const states = seen.filter((e) => e.event === 'vm.changed').map((e) => VmEntry.parse(e.payload).state);
      expect(states).toEqual(['stopped', 'starting', 'running', 'paused', 'running', 'crashed']);
      expect(await call('vm.start', 10)).toMatchObject({ ok: true, result: { state: 'running' } });
      expect(await call('vm.stop', 11)).toMatchObject({ ok: true, result: { state: 'stopped', stateReason: 'Shut down' } });
      expect(errorOf(await call('vm.forceOff', 12)).code).toBe('conflict');
      expect(errorOf(await hooked.handleMessage({ kind: 'call', id: 13, method: 'vm.start', params: { id: 'nope' } })).code).toBe('not-found');
    } finally {
      await supervisor.close();
      hooked.dispose();
    }
  });

  it('refuses test hooks unless enabled', async () => {
    const r = await api.handleMessage({ kind: 'call', id: 1, method: 'test.killWorker', params: { id: 'whatever' } });
    expect(errorOf(r)).toMatchObject({ code: 'unsupported', message: expect.stringMatching(/VIREO_TEST_HOOKS=1/) as unknown });
  });
});
