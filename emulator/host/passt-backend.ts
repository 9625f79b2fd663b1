/**
 * User-mode networking through passt (Debian package `passt`, https://passt.top): one
 * passt process per VM, spawned in the foreground with a private UNIX socket in a fresh
 * 0700 temporary directory; Vireo connects as the hypervisor and exchanges Ethernet
 * frames with QEMU's `-netdev stream` framing (4-byte big-endian length, then the
 * frame; see emulator/net/stream-framing.ts). passt answers ARP, DHCP, NDP and DHCPv6
 * itself and maps guest TCP/UDP/ICMP onto host sockets; host ports are forwarded into
 * the guest with `-t`/`-u` specs ([address/]hostPort[:guestPort]).
 *
 * When Vireo runs as root, passt is started as "nobody" (see `runAs`).
 * passt is not started with `--one-off`: the Debian 12 build (git 2023-03-09) exits
 * at once with it ("Client closed connection") before any client connects. Instead
 * `close()` sends SIGTERM (SIGKILL after 2 s) and removes the directory, and a
 * process 'exit' hook sends SIGTERM if the host exits without closing. A missing binary is a `PasstError` of kind
 * `not-installed` naming the Debian package. Frames to passt are dropped (counted)
 * while more than `maxQueuedBytes` wait in the socket buffer, like a congested link.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetBackend } from '../net/net-backend.js';
import { NET_MAX_FRAME_BYTES } from '../net/net-backend.js';
import { encodeStreamFrame, StreamFrameDecoder } from '../net/stream-framing.js';

/** uid/gid of "nobody" on Debian. */
const NOBODY = 65534;

/** One host -> guest port forward. */
export interface PasstPortForward {
  readonly protocol: 'tcp' | 'udp';
  /** Port on the host that passt listens on. */
  readonly hostPort: number;
  /** Port in the guest (default: the same as hostPort). */
  readonly guestPort?: number;
  /** Host address to bind (default: all addresses passt chooses; e.g. "127.0.0.1"). */
  readonly hostAddress?: string;
}

/** Options of `PasstBackend.start`. */
export interface PasstOptions {
  /** The passt executable (default "passt" from PATH). */
  readonly passtPath?: string;
  /** Host -> guest port forwards. */
  readonly portForwards?: readonly PasstPortForward[];
  /** MTU passt announces through DHCP/NDP (default passt's: 65520). */
  readonly mtu?: number;
  /** Further passt arguments (e.g. ["--address", "10.0.2.15"]). */
  readonly extraArgs?: readonly string[];
  /** How long to wait for passt's socket, in host milliseconds (default 5000). */
  readonly startTimeoutMs?: number;
  /** Bound on bytes queued towards passt before frames are dropped (default 4 MiB). */
  readonly maxQueuedBytes?: number;
  /**
   * Run passt as this uid/gid (default: 65534/65534, "nobody", when Vireo runs as root,
   * else unchanged). Started as root, passt switches to nobody itself, but the Debian 12
   * build then binds its socket inside its private mount namespace, where nobody can
   * reach it; starting it unprivileged avoids that.
   */
  readonly runAs?: { readonly uid: number; readonly gid: number };
  /** Host log sink (passt's stderr lines, disconnects). */
  readonly log?: (message: string) => void;
}

/** What went wrong starting or talking to passt. */
export type PasstErrorKind = 'not-installed' | 'failed-to-start' | 'bad-argument';

/** An error about the passt helper, worded for the user. */
export class PasstError extends Error {
  override readonly name = 'PasstError';
  constructor(readonly kind: PasstErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Builds passt's command line (exported for tests and diagnostics). */
export function passtArgs(socketPath: string, opts: PasstOptions = {}): string[] {
  const args = ['--foreground', '--stderr', '--socket', socketPath];
  if (opts.mtu !== undefined) {
    if (!Number.isInteger(opts.mtu) || opts.mtu < 68 || opts.mtu > 65520) throw new PasstError('bad-argument', `MTU ${opts.mtu} is outside 68..65520`);
    args.push('--mtu', String(opts.mtu));
  }
  for (const f of opts.portForwards ?? []) {
    for (const p of [f.hostPort, f.guestPort ?? f.hostPort]) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new PasstError('bad-argument', `port ${p} is outside 1..65535`);
    }
    if (f.hostAddress !== undefined && !/^[0-9a-fA-F:.]+$/.test(f.hostAddress)) throw new PasstError('bad-argument', `host address "${f.hostAddress}" is not an IP address`);
    const spec = `${f.hostAddress !== undefined ? `${f.hostAddress}/` : ''}${f.hostPort}${f.guestPort !== undefined && f.guestPort !== f.hostPort ? `:${f.guestPort}` : ''}`;
    args.push(f.protocol === 'tcp' ? '--tcp-ports' : '--udp-ports', spec);
  }
  args.push(...(opts.extraArgs ?? []));
  return args;
}

/** A NetBackend talking to a private passt process. */
export class PasstBackend implements NetBackend {
  /** Counters. */
  readonly stats = { framesSent: 0, framesReceived: 0, framesDropped: 0 };
  private handler: ((frame: Uint8Array) => void) | null = null;
  private readonly decoder = new StreamFrameDecoder(NET_MAX_FRAME_BYTES);
  private closed = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: Socket,
    private readonly dir: string,
    /** The UNIX socket passt listens on. */
    readonly socketPath: string,
    private readonly maxQueuedBytes: number,
    private readonly log: (message: string) => void,
  ) {
    process.once('exit', this.killOnExit);
    socket.on('data', (chunk: Buffer) => {
      const frames = this.decoder.push(chunk);
      if (this.decoder.error !== null) { this.log(`passt: ${this.decoder.error}; closing the link`); this.socket.destroy(); }
      for (const f of frames) {
        this.stats.framesReceived++;
        if (!this.closed) this.handler?.(f);
      }
    });
    socket.on('error', (e) => this.log(`passt socket: ${e.message}`));
    socket.on('close', () => { if (!this.closed) this.log('passt closed the connection'); });
  }

  private readonly killOnExit = (): void => { this.child.kill('SIGTERM'); };

  /** The passt process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Spawns passt, waits for its socket and connects. Rejects with a PasstError
   * (`not-installed` when the binary is missing) and leaves nothing running.
   */
  static async start(opts: PasstOptions = {}): Promise<PasstBackend> {
    const log = opts.log ?? (() => undefined);
    const dir = await mkdtemp(join(tmpdir(), 'vireo-passt-'));
    const socketPath = join(dir, 'passt.sock');
    let args: string[];
    try { args = passtArgs(socketPath, opts); } catch (e) { await rm(dir, { recursive: true, force: true }); throw e; }
    const exe = opts.passtPath ?? 'passt';
    const runAs = opts.runAs ?? (process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : undefined);
    if (runAs !== undefined) await chown(dir, runAs.uid, runAs.gid);
    const child = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(runAs ?? {}) });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      for (const line of s.split('\n')) {
        if (line.trim() === '' || line.startsWith('Failed to send')) continue;
        stderr = (stderr + line + '\n').slice(-2000);
        log(`passt: ${line}`);
      }
    });
    let exited: string | null = null;
    let spawnError: NodeJS.ErrnoException | null = null;
    child.on('error', (e: NodeJS.ErrnoException) => { spawnError = e; });
    child.on('exit', (code, signal) => { exited = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`; });
    const cleanup = async (): Promise<void> => {
      if (exited === null && spawnError === null) child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + (opts.startTimeoutMs ?? 5000);
    for (;;) {
      const err = spawnError as NodeJS.ErrnoException | null;
      if (err !== null) {
        await cleanup();
        if (err.code === 'ENOENT') {
          throw new PasstError('not-installed', `passt is not installed (no "${exe}" on PATH): install the Debian package "passt" (apt install passt) for user-mode networking, or choose "no network"`, { cause: err });
        }
        throw new PasstError('failed-to-start', `cannot run ${exe}: ${err.message}`, { cause: err });
      }
      if (exited !== null) {
        await cleanup();
        throw new PasstError('failed-to-start', `passt stopped before accepting a connection (${String(exited)}): ${stderr.trim() || 'no message'}`);
      }
      const socket = await tryConnect(socketPath);
      if (socket !== null) {
        return new PasstBackend(child, socket, dir, socketPath, opts.maxQueuedBytes ?? 4 * 1024 * 1024, log);
      }
      if (Date.now() > deadline) {
        await cleanup();
        throw new PasstError('failed-to-start', `passt did not open its socket within ${opts.startTimeoutMs ?? 5000} ms: ${stderr.trim() || 'no message'}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  send(frame: Uint8Array): void {
    if (this.closed || this.socket.destroyed || this.socket.writableLength > this.maxQueuedBytes || frame.length > NET_MAX_FRAME_BYTES) {
      this.stats.framesDropped++;
      return;
    }
    this.stats.framesSent++;
    this.socket.write(encodeStreamFrame(frame));
  }

  onReceive(handler: (frame: Uint8Array) => void): void {
    this.handler = handler;
  }

  /** Disconnects, stops passt (it exits on disconnect; SIGTERM otherwise) and removes the socket directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    process.off('exit', this.killOnExit);
    this.socket.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

function tryConnect(path: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect(path);
    const onError = (): void => { s.destroy(); resolve(null); };
    s.once('error', onError);
    s.once('connect', () => { s.off('error', onError); resolve(s); });
  });
}
