/**
 * The browser shell: serves the built renderer over HTTP, the host API over a WebSocket
 * at `/api` (the same messages as the Electron IPC channel), and each VM's serial console
 * as a binary WebSocket at `/vm/<id>/serial`: raw bytes both ways, never JSON; on connect
 * the server first sends the console history (one binary frame), then live output.
 * Each VM's screen is a binary WebSocket at `/vm/<id>/vnc` carrying RFB (noVNC's
 * websocket transport; the `binary` subprotocol is accepted when asked for): 404 for an
 * unknown VM, 409 unless it is running or paused.
 *
 * Security model (Jupyter-style):
 * - binds 127.0.0.1 unless told otherwise;
 * - a random access token is required on every HTTP request and WebSocket upgrade, as
 *   `?token=` or as the HttpOnly, SameSite=Strict cookie set after the first valid
 *   request; anything else gets 401;
 * - a WebSocket upgrade or a state-changing request whose `Origin` is not this server
 *   gets 403 (a page on another site cannot drive the API even if it guesses the port);
 * - static files are served from one root only: the decoded path is normalized, resolved
 *   and checked to stay inside the root (symlinks included) before any file is opened.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError } from '../../protocol/index.js';
import type { HostApi } from '../host/host-api.js';

/** Options for {@link startServer}. */
export interface ServerOptions {
  /** The host API to expose at /api. */
  api: HostApi;
  /** Directory of the built renderer (must contain index.html). */
  staticRoot: string;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** TCP port (default 0: any free port). */
  port?: number;
  /** Access token (default: 32 random bytes, base64url). */
  token?: string;
}

/** A running server. */
export interface RunningServer {
  /** The URL to open, including the token. */
  readonly url: string;
  /** The origin (scheme, host, port) of the server. */
  readonly origin: string;
  /** The port actually bound. */
  readonly port: number;
  /** The access token. */
  readonly token: string;
  /** Stops accepting connections, closes every WebSocket and resolves when done. */
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** Largest API message accepted over the WebSocket. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * A serial console client that lets this much output pile up unsent is too slow (or gone):
 * it is disconnected and can reconnect (the history replays what it missed, up to its size).
 */
const MAX_SERIAL_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * A screen client that lets this much output pile up unsent is gone or stuck (RFB sends one
 * update per request, so a live client never gets near it): it is disconnected.
 */
const MAX_VNC_BACKLOG_BYTES = 32 * 1024 * 1024;

/** `/vm/<id>/<kind>` -> id (URL-decoded), or null. */
function vmPathId(pathname: string, kind: 'serial' | 'vnc'): string | null {
  const m = /^\/vm\/([^/]+)\/(serial|vnc)$/.exec(pathname);
  if (!m || m[1] === undefined || m[2] !== kind) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

/** `/vm/<id>/serial` -> id (URL-decoded), or null. */
export function serialPathId(pathname: string): string | null {
  return vmPathId(pathname, 'serial');
}

/** `/vm/<id>/vnc` -> id (URL-decoded), or null. */
export function vncPathId(pathname: string): string | null {
  return vmPathId(pathname, 'vnc');
}

/** A WebSocket close reason must fit 123 bytes. */
function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** Hosts that name the loopback interface, for the Host/Origin checks. */
function isLoopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]' || hostname === '::1';
}

/**
 * Resolves a URL path to a file inside `root`, or null if it would leave the root or is
 * malformed. `root` must be absolute and normalized.
 */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const resolved = path.resolve(root, path.normalize(relative));
  if (resolved !== root && !resolved.startsWith(root + path.sep)) return null;
  return resolved;
}

/** Starts the server; resolves once it is listening. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('base64url');
  const staticRoot = await fsp.realpath(path.resolve(options.staticRoot));
  const sockets = new Set<WebSocket>();
  let port = 0;
  const cookieName = (): string => `vireo_token_${port}`;

  /** True if the request carries the token (query or cookie); sets `viaQuery` for the cookie. */
  function authorize(req: http.IncomingMessage, url: URL): { ok: boolean; viaQuery: boolean } {
    const q = url.searchParams.get('token');
    if (q !== null && safeEqual(q, token)) return { ok: true, viaQuery: true };
    const c = parseCookies(req.headers.cookie).get(cookieName());
    return { ok: c !== undefined && safeEqual(c, token), viaQuery: false };
  }

  /** True if the Host header names this server (blocks DNS-rebinding when bound to loopback). */
  function hostAllowed(req: http.IncomingMessage): boolean {
    const h = req.headers.host;
    if (!h) return false;
    if (!isLoopbackName(host)) return true;
    let parsed: URL;
    try {
      parsed = new URL(`http://${h}`);
    } catch {
      return false;
    }
    return isLoopbackName(parsed.hostname) && parsed.port === String(port);
  }

  /** True unless the request has an Origin that is not this server's. */
  function originAllowed(req: http.IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true; // not a browser request
    return origin === `http://${req.headers.host ?? ''}`;
  }

  function securityHeaders(res: http.ServerResponse, req: http.IncomingMessage): void {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', [
      "default-src 'self'", `connect-src 'self' ws://${req.headers.host ?? 'localhost'}`, "img-src 'self' data:",
      // xterm.js (serial console) creates inline <style> elements; scripts stay strictly 'self'.
      "style-src 'self'", "style-src-elem 'self' 'unsafe-inline'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
    ].join('; '));
  }

  function plain(res: http.ServerResponse, status: number, text: string): void {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`${text}\n`);
  }

  async function handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    securityHeaders(res, req);
    if (!hostAllowed(req)) return plain(res, 403, 'Forbidden: unexpected Host header');
    const url = new URL(req.url ?? '/', 'http://vireo.invalid');
    const auth = authorize(req, url);
    if (!auth.ok) {
      return plain(res, 401, 'Unauthorized: open the URL with the access token that `npm run serve` printed');
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      if (!originAllowed(req)) return plain(res, 403, 'Forbidden: cross-origin request');
      res.setHeader('Allow', 'GET, HEAD');
      return plain(res, 405, 'Method Not Allowed');
    }
    if (auth.viaQuery) {
      res.setHeader('Set-Cookie', `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    }
    if (url.pathname === '/api' || serialPathId(url.pathname) !== null || vncPathId(url.pathname) !== null) {
      return plain(res, 426, `Upgrade Required: ${url.pathname} speaks WebSocket`);
    }
    const file = resolveStaticPath(staticRoot, url.pathname);
    if (file === null) return plain(res, 404, 'Not Found');
    let real: string;
    try {
      real = await fsp.realpath(file);
      if (real !== staticRoot && !real.startsWith(staticRoot + path.sep)) return plain(res, 404, 'Not Found');
      if (!(await fsp.stat(real)).isFile()) return plain(res, 404, 'Not Found');
    } catch {
      return plain(res, 404, 'Not Found');
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', CONTENT_TYPES[path.extname(real).toLowerCase()] ?? 'application/octet-stream');
    if (method === 'HEAD') return void res.end();
    await new Promise<void>((resolve) => {
      const stream = createReadStream(real);
      stream.on('error', () => { res.destroy(); resolve(); });
      stream.on('end', resolve);
      stream.pipe(res);
    });
  }

  const server = http.createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      if (!res.headersSent) plain(res, 500, `Internal error: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    // noVNC (and websockify clients) may ask for the `binary` subprotocol: frames are binary anyway.
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });

  function refuseUpgrade(socket: import('node:stream').Duplex, status: number, text: string): void {
    const body = `${text}\n`;
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\n`
      + `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://vireo.invalid');
    if (!hostAllowed(req)) return refuseUpgrade(socket, 403, 'Forbidden: unexpected Host header');
    if (!authorize(req, url).ok) return refuseUpgrade(socket, 401, 'Unauthorized: missing or wrong access token');
    if (!originAllowed(req)) return refuseUpgrade(socket, 403, 'Forbidden: cross-origin WebSocket');
    if (url.pathname === '/api') {
      wss.handleUpgrade(req, socket, head, (ws) => serveApi(ws));
      return;
    }
    const screenId = vncPathId(url.pathname);
    if (screenId !== null) {
      void options.api.handlers['vm.get']({ id: screenId }).then((vm) => {
        if (vm.state !== 'running' && vm.state !== 'paused') {
          return refuseUpgrade(socket, 409, `Conflict: VM "${vm.config.name}" is ${vm.state}; its screen is available while it runs`);
        }
        wss.handleUpgrade(req, socket, head, (ws) => serveVnc(ws, screenId));
      }, (err: unknown) => {
        if (err instanceof ApiError && err.code === 'not-found') return refuseUpgrade(socket, 404, `Not Found: no VM with id "${screenId}"`);
        return refuseUpgrade(socket, 500, `Internal error: ${err instanceof Error ? err.message : String(err)}`);
      });
      return;
    }
    const vmId = serialPathId(url.pathname);
    if (vmId === null) return refuseUpgrade(socket, 404, 'Not Found');
    try {
      options.api.openSerial(vmId, { onData: () => undefined }).close(); // existence check
    } catch (err) {
      if (err instanceof ApiError && err.code === 'not-found') return refuseUpgrade(socket, 404, `Not Found: no VM with id "${vmId}"`);
      return refuseUpgrade(socket, 500, `Internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSerial(ws, vmId));
  });

  /** Binary serial console of VM `id`: history first, then live bytes; client bytes go to the guest. */
  function serveSerial(ws: WebSocket, id: string): void {
    sockets.add(ws);
    const session = (() => {
      try {
        return options.api.openSerial(id, {
          onData: (bytes) => {
            if (ws.readyState !== ws.OPEN) return;
            if (ws.bufferedAmount > MAX_SERIAL_BACKLOG_BYTES) {
              ws.close(1013, 'serial console client too slow; reconnect');
              return;
            }
            ws.send(bytes, { binary: true });
          },
          onClose: () => ws.close(1001, 'the VM was deleted or the host is shutting down'),
        });
      } catch {
        ws.close(1011, 'the VM is gone');
        return null;
      }
    })();
    if (!session) return;
    if (session.history.length > 0) ws.send(session.history, { binary: true });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        ws.close(1003, 'serial console: binary frames only');
        return;
      }
      const chunks = Array.isArray(data) ? data : [data instanceof ArrayBuffer ? Buffer.from(data) : data];
      for (const chunk of chunks) session.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    ws.on('close', () => { session.close(); sockets.delete(ws); });
    ws.on('error', () => ws.terminate());
  }

  /** RFB of VM `id`'s screen, relayed to the worker's RFB server: binary frames both ways. */
  function serveVnc(ws: WebSocket, id: string): void {
    sockets.add(ws);
    let session;
    try {
      session = options.api.openVnc(id, {
        onData: (bytes) => {
          if (ws.readyState !== ws.OPEN) return;
          if (ws.bufferedAmount > MAX_VNC_BACKLOG_BYTES) {
            ws.close(1013, 'screen client too slow; reconnect');
            return;
          }
          ws.send(bytes, { binary: true });
        },
        onClose: (reason) => { if (ws.readyState === ws.OPEN) ws.close(1000, closeReason(reason)); },
      });
    } catch (err) {
      // The VM stopped between the state check and the upgrade.
      ws.close(1011, closeReason(err instanceof Error ? err.message : String(err)));
      sockets.delete(ws);
      return;
    }
    const open = session;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        ws.close(1003, 'screen: binary frames only');
        return;
      }
      const chunks = Array.isArray(data) ? data : [data instanceof ArrayBuffer ? Buffer.from(data) : data];
      for (const chunk of chunks) open.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    ws.on('close', () => { open.close(); sockets.delete(ws); });
    ws.on('error', () => ws.terminate());
  }

  function serveApi(ws: WebSocket): void {
    sockets.add(ws);
    const send = (message: unknown): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    };
    const off = options.api.onEvent(send);
    ws.on('message', (data, isBinary) => {
      let raw: unknown = undefined;
      if (!isBinary) {
        try {
          raw = JSON.parse(data.toString());
        } catch {
          raw = undefined;
        }
      }
      if (raw === undefined) {
        send({ kind: 'result', id: -1, ok: false, error: { code: 'bad-request', message: 'message: expected a JSON text frame' } });
        return;
      }
      void options.api.handleMessage(raw).then(send);
    });
    ws.on('close', () => { off(); sockets.delete(ws); });
    ws.on('error', () => ws.terminate());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  port = (server.address() as AddressInfo).port;
  const displayHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const origin = `http://${displayHost}:${port}`;

  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
