import { describe, expect, it } from 'vitest';
import { ApiError, type ApiEvent, type ApiEventPayload, type ApiMethod, type ApiParams, type ApiResult, type VmEntry } from '../../../protocol/index.js';
import type { ConnectionState, RendererHostClient, SerialStream } from '../host-client/index.js';
import { selectIsEmpty, selectNameTaken, selectSelectedVm, selectVms } from './selectors.js';
import { bindStoreToHost, createAppStore } from './store.js';

const entry = (id: string, name: string): VmEntry => ({
  config: {
    version: 1, id, name, os: { id: 'x', name: 'X' }, firmware: 'bios', cpus: 1, memoryMiB: 64, drives: [],
    bootOrder: ['disk'], network: { mode: 'user', model: 'e1000' }, backend: 'auto', createdAt: 'now',
  },
  state: 'stopped',
});

/** A scripted host: answers calls from `handlers`, lets the test fire events and connection changes. */
class FakeClient implements RendererHostClient {
  readonly shell = 'server' as const;
  state: ConnectionState = 'connecting';
  calls: { method: string; params: unknown }[] = [];
  private listeners = new Map<string, Set<(p: unknown) => void>>();
  private connListeners = new Set<(s: ConnectionState) => void>();
  constructor(private readonly handlers: Partial<Record<ApiMethod, (params: unknown) => unknown>>) {}
  async call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
    this.calls.push({ method, params });
    const h = this.handlers[method];
    if (!h) throw new ApiError('unsupported', `${method}: not scripted`);
    return h(params) as ApiResult<M>;
  }
  on<E extends ApiEvent>(event: E, listener: (payload: ApiEventPayload<E>) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    this.listeners.set(event, set);
    set.add(listener as (p: unknown) => void);
    return () => set.delete(listener as (p: unknown) => void);
  }
  fire<E extends ApiEvent>(event: E, payload: ApiEventPayload<E>): void {
    for (const l of this.listeners.get(event) ?? []) l(payload);
  }
  connection(): ConnectionState { return this.state; }
  onConnection(l: (s: ConnectionState) => void): () => void { this.connListeners.add(l); return () => this.connListeners.delete(l); }
  setState(s: ConnectionState): void { this.state = s; for (const l of this.connListeners) l(s); }
  close(): void {}
  openSerial(): SerialStream { throw new Error('openSerial: not scripted'); }
  openVnc(): string { throw new Error('openVnc: not scripted'); }
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('renderer store', () => {
  it('loads the list on connect, sorted by name, with library errors', async () => {
    const client = new FakeClient({
      'vm.list': () => ({ vms: [entry('bbbbbbbb', 'zeta'), entry('aaaaaaaa', 'Alpha')], errors: [{ file: '/d/x.json', error: 'cpus: bad' }] }),
      'host.info': () => ({ platform: 'linux', cpus: 2, memoryBytes: 1, shell: 'server', version: '1' }),
    });
    const store = createAppStore(client);
    bindStoreToHost(store, client);
    expect(store.getState().connection).toBe('connecting');
    client.setState('open');
    await flush();
    const s = store.getState();
    expect(selectVms(s).map((v) => v.config.name)).toEqual(['Alpha', 'zeta']);
    expect(s.libraryErrors).toEqual([{ file: '/d/x.json', error: 'cpus: bad' }]);
    expect(s.hostInfo?.cpus).toBe(2);
    expect(selectIsEmpty(s)).toBe(false);
  });

  it('mirrors vm.changed and vm.removed events and clears a removed selection', async () => {
    const client = new FakeClient({ 'vm.list': () => ({ vms: [], errors: [] }), 'host.info': () => { throw new ApiError('internal', 'x'); } });
    const store = createAppStore(client);
    bindStoreToHost(store, client);
    client.setState('open');
    await flush();
    expect(selectIsEmpty(store.getState())).toBe(true);
    client.fire('vm.changed', entry('aaaaaaaa', 'one'));
    client.fire('vm.changed', entry('bbbbbbbb', 'Two'));
    client.fire('vm.changed', { ...entry('aaaaaaaa', 'three'), state: 'running' });
    store.getState().select('aaaaaaaa');
    expect(selectVms(store.getState()).map((v) => `${v.config.name}:${v.state}`)).toEqual(['three:running', 'Two:stopped']);
    expect(selectSelectedVm(store.getState())?.config.name).toBe('three');
    expect(selectNameTaken('TWO')(store.getState())).toBe(true);
    expect(selectNameTaken('two', 'bbbbbbbb')(store.getState())).toBe(false);
    client.fire('vm.removed', { id: 'aaaaaaaa' });
    expect(store.getState().selectedId).toBeNull();
    expect(selectVms(store.getState())).toHaveLength(1);
  });

  it('refreshes after a reconnection (events may have been missed)', async () => {
    let vms = [entry('aaaaaaaa', 'a')];
    const client = new FakeClient({ 'vm.list': () => ({ vms, errors: [] }), 'host.info': () => { throw new ApiError('internal', 'x'); } });
    const store = createAppStore(client);
    bindStoreToHost(store, client);
    client.setState('open');
    await flush();
    client.setState('closed');
    expect(store.getState().connection).toBe('closed');
    vms = [entry('bbbbbbbb', 'b')];
    client.setState('open');
    await flush();
    expect(selectVms(store.getState()).map((v) => v.config.id)).toEqual(['bbbbbbbb']);
  });

  it('records a failed list fetch', async () => {
    const client = new FakeClient({});
    const store = createAppStore(client);
    await store.getState().refreshVms();
    expect(store.getState().listStatus).toBe('error');
    expect(store.getState().listError).toMatch(/vm.list: not scripted/);
  });

  it('creates and deletes through the client', async () => {
    const created = entry('cccccccc', 'new');
    const client = new FakeClient({ 'vm.create': () => created, 'vm.delete': () => ({ deletedFiles: ['/d/disk.img'] }) });
    const store = createAppStore(client);
    await store.getState().createVm({ name: 'new', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64 });
    expect(selectVms(store.getState())).toEqual([created]);
    const result = await store.getState().deleteVm('cccccccc', ['/d/disk.img']);
    expect(result.deletedFiles).toEqual(['/d/disk.img']);
    expect(client.calls.at(-1)).toEqual({ method: 'vm.delete', params: { id: 'cccccccc', deleteDrivePaths: ['/d/disk.img'] } });
    expect(selectVms(store.getState())).toEqual([]);
  });
});
