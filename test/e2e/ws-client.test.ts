/**
 * The renderer's WebSocket host client against the real server shell, in process:
 * typed round trips, validated events, host errors as ApiError, failure of calls in
 * flight when the connection drops, and reconnection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHostApi, type HostApi } from '../../main/host/host-api.js';
import { VmLibrary } from '../../main/host/vm-library.js';
import { startServer, type RunningServer } from '../../main/server/server.js';
import { ApiError } from '../../protocol/index.js';
import type { ConnectionState } from '../../renderer/src/host-client/client-core.js';
import { WebSocketHostClient, type WebSocketConstructor } from '../../renderer/src/host-client/ws-client.js';

const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

function waitForState(client: WebSocketHostClient, state: ConnectionState): Promise<void> {
  if (client.connection() === state) return Promise.resolve();
  return new Promise((resolve) => {
    const off = client.onConnection((s) => { if (s === state) { off(); resolve(); } });
  });
}

describe('WebSocketHostClient against the server shell', () => {
  let tmp: string;
  let api: HostApi;
  let server: RunningServer;
  let client: WebSocketHostClient;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vireo-wsclient-'));
    api = createHostApi({ library: await VmLibrary.open({ dataDir: tmp }), shell: 'server', version: 'test' });
    server = await startServer({ api, staticRoot: tmp, port: 0 });
    client = new WebSocketHostClient({
      url: `ws://127.0.0.1:${server.port}/api?token=${server.token}`, retryMs: 10, maxRetryMs: 50, WebSocketImpl: NodeWebSocket,
    });
  });
  afterAll(async () => {
    client.close();
    await server.close();
    api.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  it('queues calls until connected, then gets typed, validated results and events', async () => {
    const removed: string[] = [];
    client.on('vm.removed', ({ id }) => removed.push(id));
    const info = await client.call('host.info', {});
    expect(info.shell).toBe('server');
    const created = await client.call('vm.create', { draft: { name: 'via client', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 32 } });
    expect(created.config.firmware).toBe('bios');
    expect((await client.call('vm.list', {})).vms.map((v) => v.config.id)).toEqual([created.config.id]);
    await client.call('vm.delete', { id: created.config.id });
    await expect.poll(() => removed, { timeout: 30_000 }).toEqual([created.config.id]);
  });

  it('turns host errors into ApiError with the host code and field message', async () => {
    const err = await client.call('vm.get', { id: 'missing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'not-found', message: 'id: no VM with id "missing"' });
  });

  it('fails calls in flight when the connection drops, then reconnects', async () => {
    const { port, token } = server;
    api.handlers['vm.list'] = () => new Promise(() => undefined); // never answers
    const inFlight = client.call('vm.list', {}).catch((e: unknown) => e);
    await server.close();
    const err = await inFlight;
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toMatch(/^vm.list: the connection to the Vireo host was lost/);
    expect(client.connection()).not.toBe('open');
    api.handlers['vm.list'] = async () => ({ vms: [], errors: [] });
    server = await startServer({ api, staticRoot: tmp, port, token });
    await waitForState(client, 'open');
    expect(await client.call('vm.list', {})).toEqual({ vms: [], errors: [] });
  });
});
