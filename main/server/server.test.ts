import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HostToClientMessage, type HostToClientMessage as Msg } from '../../protocol/index.js';
import { createHostApi, type HostApi } from '../host/host-api.js';
import { createEchoWorker } from '../host/test-support/fake-workers.js';
import { VmLibrary } from '../host/vm-library.js';
import { VmSupervisor } from '../host/vm-supervisor.js';
import { parseServeArgs } from './args.js';
import { resolveStaticPath, startServer, type RunningServer } from './server.js';

interface RawResponse { status: number; headers: http.IncomingHttpHeaders; body: string }

/** An HTTP request with the path sent byte for byte (fetch would normalize `..`). */
function request(server: RunningServer, rawPath: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: rawPath, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket; resolves with it when open, or with the HTTP status the upgrade was refused with. */
function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); res.resume(); });
    ws.once('error', reject);
  });
}

describe('server shell', () => {
  let tmp: string;
  let root: string;
  let server: RunningServer;
  let api: HostApi;
  let wsUrl: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vireo-server-'));
    root = path.join(tmp, 'www');
    await mkdir(path.join(root, 'assets'), { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>Vireo</title>');
    await writeFile(path.join(root, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(path.join(tmp, 'secret.txt'), 'TOP SECRET');
    await writeFile(path.join(tmp, 'www-evil.txt'), 'SIBLING SECRET');
    await symlink(path.join(tmp, 'secret.txt'), path.join(root, 'link.txt'));
    api = createHostApi({ library: await VmLibrary.open({ dataDir: path.join(tmp, 'data') }), shell: 'server', version: 'test' });
    server = await startServer({ api, staticRoot: root, port: 0 });
    wsUrl = `ws://127.0.0.1:${server.port}/api`;
  });
  afterAll(async () => {
    await server.close();
    api.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  it('prints a loopback URL carrying a long random token', () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{43}$`));
  });

  it('answers 401 to HTTP requests without the token or with a wrong one', async () => {
    expect((await request(server, '/')).status).toBe(401);
    expect((await request(server, '/assets/app.js')).status).toBe(401);
    expect((await request(server, '/?token=wrong')).status).toBe(401);
    expect((await request(server, '/', { headers: { Cookie: `vireo_token_${server.port}=wrong` } })).status).toBe(401);
  });

  it('serves index.html with the token and sets an HttpOnly SameSite=Strict cookie that then suffices', async () => {
    const res = await request(server, `/?token=${server.token}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<title>Vireo</title>');
    const cookie = res.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const pair = cookie.split(';')[0] ?? '';
    const viaCookie = await request(server, '/assets/app.js', { headers: { Cookie: pair } });
    expect(viaCookie.status).toBe(200);
    expect(viaCookie.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('refuses a state-changing request from a foreign Origin with 403', async () => {
    const t = `?token=${server.token}`;
    expect((await request(server, `/${t}`, { method: 'POST', headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    expect((await request(server, `/${t}`, { method: 'POST', headers: { Origin: server.origin } })).status).toBe(405);
  });

  it('refuses a foreign Host header (DNS rebinding) with 403', async () => {
    const res = await request(server, `/?token=${server.token}`, { headers: { Host: `evil.example:${server.port}` } });
    expect(res.status).toBe(403);
  });

  it.each([
    '/../secret.txt',
    '/..%2fsecret.txt',
    '/..%2Fsecret.txt',
    '/%2e%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/assets/../../secret.txt',
    '/..%5csecret.txt',
    '/%2e%2e%5csecret.txt',
    '/../www-evil.txt',
    '/..%2fwww-evil.txt',
    '/%2fetc%2fpasswd',
    '//etc/passwd',
    '/index.html%00.js',
    '/%E0%A4%A',
    '/link.txt',
  ])('never serves a file outside the static root: %s', async (p) => {
    const res = await request(server, `${p}${p.includes('?') ? '&' : '?'}token=${server.token}`);
    expect([400, 404]).toContain(res.status);
    expect(res.body).not.toContain('SECRET');
    expect(res.body).not.toContain('root:');
  });

  it('resolveStaticPath keeps every path inside the root', () => {
    expect(resolveStaticPath('/srv/www', '/')).toBe('/srv/www/index.html');
    expect(resolveStaticPath('/srv/www', '/assets/a.js')).toBe('/srv/www/assets/a.js');
    expect(resolveStaticPath('/srv/www', '/a/../b.js')).toBe('/srv/www/b.js');
    expect(resolveStaticPath('/srv/www', '/..%2f..%2fetc/passwd')).toBeNull();
    expect(resolveStaticPath('/srv/www', '/%2e%2e')).toBeNull();
    expect(resolveStaticPath('/srv/www', '/../www2/x')).toBeNull();
  });

  it('answers 401 to a WebSocket upgrade without the token and 403 to a foreign Origin', async () => {
    expect(await connect(wsUrl)).toBe(401);
    expect(await connect(`${wsUrl}?token=nope`)).toBe(401);
    expect(await connect(`${wsUrl}?token=${server.token}`, { Origin: 'http://evil.example' })).toBe(403);
    expect(await connect(`ws://127.0.0.1:${server.port}/elsewhere?token=${server.token}`)).toBe(404);
  });

  it('carries API calls and events over the WebSocket', async () => {
    const ws = await connect(`${wsUrl}?token=${server.token}`, { Origin: server.origin });
    if (typeof ws === 'number') throw new Error(`upgrade refused with ${ws}`);
    const inbox: Msg[] = [];
    const waiters: (() => void)[] = [];
    ws.on('message', (data) => {
      inbox.push(HostToClientMessage.parse(JSON.parse(String(data))));
      waiters.splice(0).forEach((w) => w());
    });
    const next = async (pred: (m: Msg) => boolean): Promise<Msg> => {
      for (;;) {
        const i = inbox.findIndex(pred);
        if (i >= 0) return inbox.splice(i, 1)[0] as Msg;
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    const draft = { name: 'ws-vm', os: { id: 'debian13', name: 'Debian 13' }, cpus: 1, memoryMiB: 256 };
    ws.send(JSON.stringify({ kind: 'call', id: 1, method: 'vm.create', params: { draft } }));
    const created = await next((m) => m.kind === 'result' && m.id === 1);
    expect(created).toMatchObject({ ok: true, result: { config: { name: 'ws-vm' }, state: 'stopped' } });
    const changed = await next((m) => m.kind === 'event');
    expect(changed).toMatchObject({ event: 'vm.changed', payload: { config: { name: 'ws-vm' } } });
    ws.send(JSON.stringify({ kind: 'call', id: 2, method: 'vm.list', params: {} }));
    const list = await next((m) => m.kind === 'result' && m.id === 2);
    expect(list).toMatchObject({ ok: true, result: { vms: [{ config: { name: 'ws-vm' } }], errors: [] } });
    ws.send('not json');
    expect(await next((m) => m.kind === 'result' && m.id === -1)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    ws.send(JSON.stringify({ kind: 'call', id: 3, method: 'vm.create', params: { draft: { ...draft, memoryMiB: 1 } } }));
    const bad = await next((m) => m.kind === 'result' && m.id === 3);
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/^params\.draft\.memoryMiB: /) as unknown } });
    ws.close();
  });
});

describe('serve flags', () => {
  it('parses --port, --host and --data-dir', () => {
    expect(parseServeArgs(['--port', '0', '--host', '::1', '--data-dir', '/d'], {})).toEqual({ port: 0, host: '::1', dataDir: '/d' });
    expect(parseServeArgs(['--port=9000'], { VIREO_DATA_DIR: '/e' })).toEqual({ port: 9000, host: '127.0.0.1', dataDir: '/e' });
  });
  it('names the flag in errors', () => {
    expect(() => parseServeArgs(['--port', 'x'], {})).toThrow(/^--port: expected 0-65535/);
    expect(() => parseServeArgs(['--port'], {})).toThrow(/^--port: expected a value/);
    expect(() => parseServeArgs(['--bogus'], {})).toThrow(/^--bogus: unknown flag/);
  });
});

describe('serial console WebSocket /vm/<id>/serial', () => {
  let tmp: string;
  let server: RunningServer;
  let api: HostApi;
  let supervisor: VmSupervisor;
  let vmId: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vireo-serial-'));
    const root = path.join(tmp, 'www');
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>Vireo</title>');
    supervisor = new VmSupervisor({ createWorker: () => createEchoWorker() });
    api = createHostApi({ library: await VmLibrary.open({ dataDir: path.join(tmp, 'data') }), shell: 'server', version: 'test', supervisor });
    server = await startServer({ api, staticRoot: root, port: 0 });
    const created = await api.handleMessage({
      kind: 'call', id: 1, method: 'vm.create',
      params: { draft: { name: 'serial-vm', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64 } },
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

  const serialUrl = (id: string, token: string | null): string =>
    `ws://127.0.0.1:${server.port}/vm/${encodeURIComponent(id)}/serial${token === null ? '' : `?token=${token}`}`;

  it('answers 401 without the token, 403 to a foreign Origin and 404 for an unknown VM', async () => {
    expect(await connect(serialUrl(vmId, null))).toBe(401);
    expect(await connect(serialUrl(vmId, 'wrong'))).toBe(401);
    expect(await connect(serialUrl(vmId, server.token), { Origin: 'http://evil.example' })).toBe(403);
    expect(await connect(serialUrl('no-such-vm-id', server.token))).toBe(404);
    expect((await request(server, `/vm/${vmId}/serial?token=${server.token}`)).status).toBe(426);
  });

  it('replays the history on connect and carries raw bytes both ways', async () => {
    const start = await api.handleMessage({ kind: 'call', id: 2, method: 'vm.start', params: { id: vmId } });
    expect(start).toMatchObject({ ok: true, result: { state: 'running' } });
    // Listen before the socket opens: the history may arrive right with the upgrade.
    const ws = new WebSocket(serialUrl(vmId, server.token), { headers: { Origin: server.origin } });
    const chunks: Buffer[] = [];
    let textFrames = 0;
    const waiters: (() => void)[] = [];
    ws.on('message', (data, isBinary) => {
      if (!isBinary) textFrames++;
      chunks.push(Buffer.from(data as Buffer));
      waiters.splice(0).forEach((w) => w());
    });
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    const received = async (needle: string): Promise<string> => {
      for (;;) {
        const text = Buffer.concat(chunks).toString('latin1');
        if (text.includes(needle)) return text;
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    expect(await received('boot\r\n')).toBe('boot\r\n');
    ws.send(Uint8Array.of(0x00, 0xff, 0x41), { binary: true });
    const text = await received('echo:');
    await received('\u0000\u00ffA');
    expect(Buffer.concat(chunks).subarray(-8)).toEqual(Buffer.from([...Buffer.from('echo:'), 0x00, 0xff, 0x41]));
    expect(text.startsWith('boot\r\n')).toBe(true);
    expect(textFrames).toBe(0);
    // Editing or deleting a running VM is refused.
    const del = await api.handleMessage({ kind: 'call', id: 3, method: 'vm.delete', params: { id: vmId } });
    expect(del).toMatchObject({ ok: false, error: { code: 'conflict', message: 'id: VM "serial-vm" is running; shut it down before deleting it' } });
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send('text is not allowed');
    expect(await closed).toBe(1003);
  });
});
