import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadManager, fileNameOf, type DownloadEvent } from './downloads.js';
import { makeWindowsLikeIso, xorrisoSkipReason } from './os-detect/test-support/make-iso.js';

const skip = xorrisoSkipReason();

/** Runs one download to its end; resolves with every event. */
function runDownload(manager: DownloadManager, events: DownloadEvent[], url: string, destDir: string) {
  const started = manager.start({ url, destDir });
  return new Promise<{ started: typeof started; final: DownloadEvent }>((resolve) => {
    const timer = setInterval(() => {
      const final = events.find((e) => e.kind !== 'progress' && e.payload.id === started.id);
      if (final) {
        clearInterval(timer);
        resolve({ started, final });
      }
    }, 10);
  });
}

describe.skipIf(skip !== null)('DownloadManager against a local HTTP server', () => {
  let dir: string;
  let iso: Buffer;
  let server: http.Server;
  let base: string;
  const requests: { url: string; range: string | undefined }[] = [];
  let dropped = false;
  let release: (() => void) | null = null;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'vireo-dl-'));
    iso = await readFile(await makeWindowsLikeIso(path.join(dir, 'src.iso')));
    server = http.createServer((req, res) => {
      requests.push({ url: req.url ?? '', range: req.headers.range });
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      if (req.url === '/page.iso') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end('<!DOCTYPE html><html><body>Please log in</body></html>');
      } else if (req.url === '/octet-html.iso') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.end('<!DOCTYPE html><html><body>Not found</body></html>');
      } else if (req.url === '/redirect/virtio-win.iso') {
        res.writeHead(302, { Location: '/flaky/virtio-win.iso' });
        res.end();
      } else if (req.url === '/flaky/virtio-win.iso' || req.url === '/norange/virtio-win.iso') {
        const honourRange = req.url.startsWith('/flaky');
        if (!dropped) {
          // First request: send half, then drop the connection.
          dropped = true;
          res.writeHead(200, { 'Content-Type': 'application/x-iso9660-image', 'Content-Length': iso.length });
          res.write(iso.subarray(0, iso.length / 2), () => setTimeout(() => res.socket?.destroy(), 50));
          return;
        }
        if (honourRange && start > 0) {
          res.writeHead(206, { 'Content-Range': `bytes ${start}-${iso.length - 1}/${iso.length}`, 'Content-Length': iso.length - start });
          res.end(iso.subarray(start));
        } else {
          res.writeHead(200, { 'Content-Length': iso.length });
          res.end(iso);
        }
      } else if (req.url === '/reset-once/x.iso') {
        if (!dropped) {
          dropped = true;
          req.socket.destroy(); // before any header: a reset connection
          return;
        }
        res.writeHead(200, { 'Content-Length': iso.length });
        res.end(iso);
      } else if (req.url === '/slow.iso') {
        res.writeHead(200, { 'Content-Length': iso.length });
        res.write(iso.subarray(0, 4096));
        release = () => res.destroy();
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    release?.();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const newManager = (events: DownloadEvent[]) => new DownloadManager({ onEvent: (e) => events.push(e), retryDelayMs: 10, progressIntervalMs: 0 });

  it('resumes with a Range request after a dropped connection, reports progress and verifies the ISO', async () => {
    dropped = false;
    requests.length = 0;
    const events: DownloadEvent[] = [];
    const dest = await mkdtemp(path.join(dir, 'dest-'));
    const { started, final } = await runDownload(newManager(events), events, `${base}/redirect/virtio-win.iso`, dest);
    expect(final).toMatchObject({ kind: 'done', payload: { id: started.id, path: path.join(dest, 'virtio-win.iso'), sizeBytes: iso.length, label: 'CCCOMA_X64FRE_EN-US_DV9' } });
    expect(started.path).toBe(path.join(dest, 'virtio-win.iso'));
    expect(await readFile(started.path)).toEqual(iso);
    expect(await readdir(dest)).toEqual(['virtio-win.iso']); // no .part left
    const resumed = requests.filter((r) => r.url === '/flaky/virtio-win.iso');
    expect(resumed).toHaveLength(2);
    expect(resumed[0]?.range).toBeUndefined();
    expect(resumed[1]?.range).toMatch(/^bytes=[1-9]\d*-$/);
    const progress = events.filter((e) => e.kind === 'progress').map((e) => e.payload as { receivedBytes: number; totalBytes: number | null });
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ receivedBytes: iso.length, totalBytes: iso.length });
    expect(progress.some((p) => p.receivedBytes > 0 && p.receivedBytes < iso.length)).toBe(true);
  });

  it('starts over when the server ignores the Range header', async () => {
    dropped = false;
    requests.length = 0;
    const events: DownloadEvent[] = [];
    const dest = await mkdtemp(path.join(dir, 'dest-'));
    const { started, final } = await runDownload(newManager(events), events, `${base}/norange/virtio-win.iso`, dest);
    expect(final.kind).toBe('done');
    expect(await readFile(started.path)).toEqual(iso);
    expect(requests.map((r) => r.range === undefined)).toEqual([true, false]);
  });

  it('retries a connection reset before the answer', async () => {
    dropped = false;
    const events: DownloadEvent[] = [];
    const dest = await mkdtemp(path.join(dir, 'dest-'));
    const { final } = await runDownload(newManager(events), events, `${base}/reset-once/x.iso`, dest);
    expect(final).toMatchObject({ kind: 'done', payload: { sizeBytes: iso.length } });
  });

  it('rejects an HTML answer by content type, and HTML served as an octet stream by content', async () => {
    const events: DownloadEvent[] = [];
    const dest = await mkdtemp(path.join(dir, 'dest-'));
    const manager = newManager(events);
    const a = await runDownload(manager, events, `${base}/page.iso`, dest);
    expect(a.final).toMatchObject({ kind: 'failed', payload: { cancelled: false } });
    expect((a.final.payload as { error: string }).error).toBe(
      `${base}/page.iso: the server sent an HTML page (text/html; charset=utf-8) instead of an ISO image; check the URL (it may need a login or point at a web page)`);
    const b = await runDownload(manager, events, `${base}/octet-html.iso`, dest);
    expect((b.final.payload as { error: string }).error).toMatch(/did not deliver an ISO image: the file .*octet-html\.iso\.part starts with "<!DOCTYPE html>/);
    const c = await runDownload(manager, events, `${base}/missing.iso`, dest);
    expect((c.final.payload as { error: string }).error).toMatch(/missing\.iso: the server answered HTTP 404 Not Found/);
    expect(await readdir(dest)).toEqual([]);
  });

  it('cancels a running download and removes the partial file', async () => {
    const events: DownloadEvent[] = [];
    const dest = await mkdtemp(path.join(dir, 'dest-'));
    const manager = newManager(events);
    const started = manager.start({ url: `${base}/slow.iso`, destDir: dest });
    await expect.poll(() => events.some((e) => e.kind === 'progress' && e.payload.receivedBytes >= 4096)).toBe(true);
    expect(manager.cancel(started.id)).toBe(true);
    await expect.poll(() => events.find((e) => e.kind === 'failed')).toMatchObject({ payload: { id: started.id, cancelled: true } });
    expect(existsSync(`${started.path}.part`)).toBe(false);
    expect(manager.active()).toEqual([]);
  });

  it('names files after the URL and refuses other schemes', () => {
    expect(fileNameOf('https://x/a/virtio-win-0.1.266.iso?x=1')).toBe('virtio-win-0.1.266.iso');
    expect(fileNameOf('https://x/')).toBe('download.iso');
    expect(fileNameOf('https://x/latest')).toBe('latest.iso');
    expect(() => new DownloadManager({ onEvent: () => undefined }).start({ url: 'file:///etc/passwd', destDir: dir })).toThrow(/only http and https/);
  });
});
