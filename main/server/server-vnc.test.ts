/**
 * The screen WebSocket `/vm/<id>/vnc` of the browser shell: token, Origin, 404 for an
 * unknown VM, 409 for a stopped one, the `binary` subprotocol, and RFB bytes relayed both
 * ways to the worker (a stand-in worker that greets like an RFB server and echoes).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHostApi, type HostApi } from '../host/host-api.js';
import { VmLibrary } from '../host/vm-library.js';
import { VmSupervisor } from '../host/vm-supervisor.js';
import { startServer, vncPathId, type RunningServer } from './server.js';

/** Starts, greets each viewer with the RFB version, echoes its bytes, closes it on "bye". */
const RFB_ECHO_WORKER = `
const { parentPort } = require('node:worker_threads');
const send = (m) => parentPort.postMessage(m);
parentPort.on('message', (m) => {
  switch (m.type) {
    case 'start': send({ type: 'state', state: 'running' }); break;
    case 'stop': send({ type: 'state', state: 'stopped' }); send({ type: 'stopped', reason: { kind: 'requested', detail: 'stop' } }); parentPort.close(); break;
    case 'rfb-open': send({ type: 'rfb-data', connId: m.connId, data: new TextEncoder().encode('RFB 003.008\\n') }); break;
    case 'rfb-data':
      if (new TextDecoder().decode(m.data) === 'bye') send({ type: 'rfb-closed', connId: m.connId, reason: 'malformed message' });
      else send({ type: 'rfb-data', connId: m.connId, data: new Uint8Array([...new TextEncoder().encode('echo:'), ...m.data]) });
      break;
    case 'send-keys': send({ type: 'log', message: 'keys ' + m.keys.join(',') }); break;
  }
});
`;

/** Opens a WebSocket (collecting from the start); resolves when open, or with the refusal's HTTP status. */
function connect(url: string, headers: Record<string, string> = {}, protocols?: string[]): Promise<{ ws: WebSocket; c: Collector } | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const c = collect(ws);
    ws.once('open', () => resolve({ ws, c }));
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); res.resume(); });
    ws.once('error', reject);
  });
}

/** Collects binary frames and the close event of `ws`. */
interface Collector { text(): string; closed: Promise<{ code: number; reason: string }>; until(s: string): Promise<void> }

function collect(ws: WebSocket): Collector {
  let received = '';
  const waiters: (() => void)[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) received += Buffer.from(data as Buffer).toString('latin1');
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return {
    text: () => received,
    closed,
    async until(s) {
      while (!received.includes(s)) await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 1000); });
    },
  };
}

describe('screen WebSocket /vm/<id>/vnc', () => {
  let tmp: string;
  let server: RunningServer;
  let api: HostApi;
  let supervisor: VmSupervisor;
  let vmId: string;
  const logs: string[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vireo-vnc-'));
    const root = path.join(tmp, 'www');
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>Vireo</title>');
    supervisor = new VmSupervisor({ createWorker: () => new Worker(RFB_ECHO_WORKER, { eval: true }), log: (_id, m) => logs.push(m) });
    api = createHostApi({ library: await VmLibrary.open({ dataDir: path.join(tmp, 'data') }), shell: 'server', version: 'test', supervisor });
    server = await startServer({ api, staticRoot: root, port: 0 });
    const created = await api.handleMessage({
      kind: 'call', id: 1, method: 'vm.create',
      params: { draft: { name: 'vnc-vm', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64 } },
    });
    if (!created.ok) throw new Error(created.error.message);
    vmId = (created.result as { config: { id: string } }).config.id;
  });
  afterAll(async () => {
    await server.close();
    await supervisor.close();
    api.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  const vncUrl = (id: string, token: string | null): string =>
    `ws://127.0.0.1:${server.port}/vm/${encodeURIComponent(id)}/vnc${token === null ? '' : `?token=${token}`}`;

  it('parses only /vm/<id>/vnc', () => {
    expect(vncPathId('/vm/abc/vnc')).toBe('abc');
    expect(vncPathId('/vm/a%20b/vnc')).toBe('a b');
    expect(vncPathId('/vm/abc/serial')).toBeNull();
    expect(vncPathId('/vm/abc/vnc/x')).toBeNull();
  });

  it('answers 401 without the token, 403 to a foreign Origin, 404 for an unknown VM and 409 while stopped', async () => {
    expect(await connect(vncUrl(vmId, null))).toBe(401);
    expect(await connect(vncUrl(vmId, 'wrong'))).toBe(401);
    expect(await connect(vncUrl(vmId, server.token), { Origin: 'http://evil.example' })).toBe(403);
    expect(await connect(vncUrl('no-such-vm-id', server.token), { Origin: server.origin })).toBe(404);
    expect(await connect(vncUrl(vmId, server.token), { Origin: server.origin })).toBe(409);
  });

  it('relays RFB bytes both ways, accepts the binary subprotocol, and closes one viewer alone', async () => {
    const start = await api.handleMessage({ kind: 'call', id: 2, method: 'vm.start', params: { id: vmId } });
    expect(start).toMatchObject({ ok: true, result: { state: 'running' } });

    const ra = await connect(vncUrl(vmId, server.token), { Origin: server.origin }, ['binary']);
    const rb = await connect(vncUrl(vmId, server.token), { Origin: server.origin });
    if (typeof ra === 'number' || typeof rb === 'number') throw new Error('upgrade refused');
    const { ws: a, c: ca } = ra;
    const { ws: b, c: cb } = rb;
    expect(a.protocol).toBe('binary');
    await ca.until('RFB 003.008\n');
    await cb.until('RFB 003.008\n');
    a.send(Buffer.from('RFB 003.008\n'));
    await ca.until('echo:RFB 003.008\n');

    // The worker closes viewer b (as it does on a malformed RFB message): a stays open.
    b.send(Buffer.from('bye'));
    const closed = await cb.closed;
    expect(closed).toEqual({ code: 1000, reason: 'malformed message' });
    a.send(Buffer.from('still here'));
    await ca.until('echo:still here');

    // Text frames are not RFB.
    a.send('text');
    expect((await ca.closed).code).toBe(1003);

    const keys = await api.handleMessage({ kind: 'call', id: 3, method: 'vm.sendKeys', params: { id: vmId, keys: [0x1d, 0x38, 0xe053] } });
    expect(keys).toMatchObject({ ok: true });
    const badKeys = await api.handleMessage({ kind: 'call', id: 4, method: 'vm.sendKeys', params: { id: vmId, keys: [0x1234] } });
    expect(badKeys).toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });
});
