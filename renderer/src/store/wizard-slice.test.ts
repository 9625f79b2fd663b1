import { describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../../protocol/index.js';
import type { RendererHostClient } from '../host-client/index.js';
import { bindStoreToHost, createAppStore } from './store.js';

/** Just enough of a host client for the wizard slice: scripted calls, fired events. */
function fakeClient(answers: Record<string, (params: unknown) => unknown>) {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const client = {
    shell: 'server',
    calls: [] as { method: string; params: unknown }[],
    async call(method: string, params: unknown) {
      client.calls.push({ method, params });
      const answer = answers[method];
      if (!answer) throw new Error(`${method}: not scripted`);
      return answer(params);
    },
    on(event: string, l: (p: unknown) => void) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(l);
      return () => set.delete(l);
    },
    fire(event: ApiEvent, payload: unknown) {
      for (const l of listeners.get(event) ?? []) l(payload);
    },
    connection: () => 'connecting',
    onConnection: () => () => undefined,
  };
  return client;
}

describe('wizard slice', () => {
  it('mirrors download events, including those that overtake the start answer', async () => {
    let fireEarly: (() => void) | null = null;
    const client = fakeClient({
      'download.start': () => {
        fireEarly?.();
        return { id: 'd1', url: 'http://h/virtio-win.iso', path: '/data/images/virtio-win.iso' };
      },
      'download.cancel': () => ({}),
    });
    const store = createAppStore(client as unknown as RendererHostClient);
    bindStoreToHost(store, client as unknown as RendererHostClient);
    fireEarly = () => client.fire('download.progress', { id: 'd1', receivedBytes: 10, totalBytes: 100, bytesPerSec: 5, etaSec: 18 });
    const id = await store.getState().startDownload({ url: 'http://h/virtio-win.iso', destDir: '/data/images' });
    expect(id).toBe('d1');
    expect(store.getState().downloads['d1']).toMatchObject({ status: 'running', progress: { receivedBytes: 10, totalBytes: 100 } });
    client.fire('download.done', { id: 'd1', path: '/data/images/virtio-win.iso', sizeBytes: 100, label: 'virtio-win-0.1' });
    expect(store.getState().downloads['d1']).toMatchObject({ status: 'done', label: 'virtio-win-0.1' });
    client.fire('download.failed', { id: 'other', error: 'x', cancelled: true }); // not ours: ignored
    expect(Object.keys(store.getState().downloads)).toEqual(['d1']);
    await store.getState().cancelDownload('d1');
    expect(client.calls.at(-1)).toEqual({ method: 'download.cancel', params: { id: 'd1' } });
  });
});
