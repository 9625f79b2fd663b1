/**
 * A VM's serial port (COM1) as a host pseudo-terminal, like QEMU's `-serial pty`: programs
 * such as `screen /dev/pts/N` or `picocom /dev/pts/N` talk to the guest's COM1 while the
 * app's own serial console keeps working (the supervisor feeds both).
 *
 * - The pair comes from node-pty's `UnixTerminal.open()` (openpty(3)); Linux and macOS
 *   only. On Windows, or when the optional node-pty addon is not installed, opening
 *   answers `{ ok: false, error }` naming why.
 * - Raw mode: cfmakeraw(3) on the pair (through koffi and libc), so bytes pass unchanged
 *   both ways: no echo, no line discipline, no CR/NL translation, no signal characters
 *   (0x03 is a byte like any other), 8-bit clean.
 * - We keep one descriptor of the slave open (never read) for the pty's lifetime, so the
 *   master never sees a hang-up when a program closes the slave: programs can come and go.
 * - Guest output is written to the master without blocking (the master is non-blocking).
 *   When nobody reads the slave, the kernel's buffer fills, then at most `maxPendingBytes`
 *   (default 64 KiB) wait here, retried on a timer; beyond that the newest bytes are
 *   dropped and counted (`droppedBytes`), as a UART without flow control loses them. A pty
 *   with no reader thus never blocks the host and never grows memory without bound. A
 *   program that opens the slave later first reads what the kernel and this queue held.
 * - `close()` closes the master and our slave descriptor: the /dev/pts path goes away
 *   (once any program that still has it open closes it; until then it reads end-of-file).
 */
import { closeSync, constants as fsConstants, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import tty from 'node:tty';
import { z } from 'zod';

/** Default bound of guest output waiting for a reader of the pty (bytes). */
export const DEFAULT_PTY_PENDING_BYTES = 64 * 1024;

/** An open serial pseudo-terminal. */
export interface SerialPty {
  /** The slave's path, e.g. /dev/pts/5: what a terminal program opens. */
  readonly path: string;
  /** Guest output: relays `bytes` unchanged to whoever reads the slave (never blocks). */
  write(bytes: Uint8Array): void;
  /** Guest output dropped so far because nobody read the pty and the queue was full. */
  readonly droppedBytes: number;
  /** Guest output waiting for a reader (at most the queue bound). */
  readonly pendingBytes: number;
  /** Closes the pair; no more `onInput`. Idempotent. */
  close(): void;
}

/** Options for {@link openSerialPty}. */
export interface SerialPtyOptions {
  /** Bytes a program wrote to the slave (for the guest's serial input), unchanged. */
  onInput(bytes: Uint8Array): void;
  /** Bound of guest output queued while nobody reads (default {@link DEFAULT_PTY_PENDING_BYTES}). */
  maxPendingBytes?: number;
  /** The host platform (default `process.platform`; tests pass 'win32'). */
  platform?: NodeJS.Platform;
}

/** Result of {@link openSerialPty}: the pty, or why there is none (a sentence for the user). */
export type SerialPtyOpenResult = { ok: true; pty: SerialPty } | { ok: false; error: string };

/** The part of node-pty we use (the package's typings do not declare `open`). */
const NodePtyModule = z.object({
  open: z.custom<(options: { cols?: number; rows?: number; encoding?: string | null }) => unknown>((v) => typeof v === 'function'),
});

/** What `UnixTerminal.open()` returns (prototype getters; checked on receipt). */
const OpenedTerminal = z.object({
  master: z.custom<tty.ReadStream>((v) => v instanceof tty.ReadStream, { message: 'expected the master as a tty.ReadStream' }),
  slave: z.custom<tty.ReadStream>((v) => v instanceof tty.ReadStream, { message: 'expected the slave as a tty.ReadStream' }),
  fd: z.number().int().nonnegative(),
  ptsName: z.string().min(1),
});

/** Minimal shape of koffi, typed here so no `any` leaves this file. */
interface KoffiFunction { (...args: unknown[]): unknown }
interface KoffiModule { load(path: string): { func(name: string, result: string, params: string[]): KoffiFunction } }

/** libc's termios calls on an opaque buffer (its layout differs by OS; we never look inside). */
interface Termios {
  makeRaw(fd: number): void;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Binds tcgetattr/cfmakeraw/tcsetattr of the host's libc. Throws naming what failed. */
function loadTermios(platform: NodeJS.Platform): Termios {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as KoffiModule;
  const lib = koffi.load(platform === 'darwin' ? '/usr/lib/libSystem.B.dylib' : 'libc.so.6');
  const tcgetattr = lib.func('tcgetattr', 'int', ['int', 'void *']);
  const tcsetattr = lib.func('tcsetattr', 'int', ['int', 'int', 'void *']);
  const cfmakeraw = lib.func('cfmakeraw', 'void', ['void *']);
  const TCSANOW = 0;
  return {
    makeRaw(fd) {
      // struct termios is 60 bytes on Linux/glibc and 72 on macOS: 256 covers both.
      const buf = new Uint8Array(256);
      if (Number(tcgetattr(fd, buf)) !== 0) throw new Error('tcgetattr failed');
      cfmakeraw(buf);
      if (Number(tcsetattr(fd, TCSANOW, buf)) !== 0) throw new Error('tcsetattr failed');
    },
  };
}

/**
 * Opens a pseudo-terminal pair in raw mode for a VM's serial port. Never throws: a host
 * that cannot offer one gets `{ ok: false, error }`.
 */
export function openSerialPty(options: SerialPtyOptions): SerialPtyOpenResult {
  const platform = options.platform ?? process.platform;
  if (platform === 'win32') {
    return { ok: false, error: 'A serial pseudo-terminal is not supported on this host (Windows); use the serial console in the app' };
  }
  const maxPending = options.maxPendingBytes ?? DEFAULT_PTY_PENDING_BYTES;
  if (!Number.isInteger(maxPending) || maxPending < 0) throw new RangeError(`maxPendingBytes: expected a non-negative integer, got ${maxPending}`);

  let nodePty: z.infer<typeof NodePtyModule>;
  try {
    const require = createRequire(import.meta.url);
    nodePty = NodePtyModule.parse(require('node-pty'));
  } catch (err) {
    return { ok: false, error: `A serial pseudo-terminal is not available: the node-pty addon could not be loaded (${errorText(err)}); run \`npm run setup\`` };
  }
  let opened: z.infer<typeof OpenedTerminal>;
  try {
    const parsed = OpenedTerminal.safeParse(nodePty.open({ cols: 80, rows: 24, encoding: null }));
    if (!parsed.success) return { ok: false, error: `node-pty answered unexpectedly: ${parsed.error.issues.map((i) => i.message).join('; ')}` };
    opened = parsed.data;
  } catch (err) {
    return { ok: false, error: `Could not open a pseudo-terminal: ${errorText(err)}` };
  }
  const { master, slave, fd: masterFd, ptsName: path } = opened;
  // node-pty reads the slave in this process too; that would steal the bytes meant for
  // the program on the slave. It has not started reading yet (tty streams start on the
  // next tick), so drop that stream and keep a descriptor of our own that we never read.
  slave.destroy();
  let slaveFd: number;
  try {
    slaveFd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NOCTTY | fsConstants.O_NONBLOCK);
  } catch (err) {
    master.destroy();
    return { ok: false, error: `Could not open ${path}: ${errorText(err)}` };
  }
  try {
    loadTermios(platform).makeRaw(slaveFd);
  } catch (err) {
    master.destroy();
    closeSync(slaveFd);
    return { ok: false, error: `Could not put ${path} in raw mode: ${errorText(err)}` };
  }

  let closed = false;
  let dropped = 0;
  let pendingBytes = 0;
  const pending: Uint8Array[] = [];
  let retry: NodeJS.Timeout | undefined;
  let retryDelayMs = 10;

  /** Writes what the kernel takes now: the count (0 when it is full), or null if the pair is broken. */
  const writeNow = (bytes: Uint8Array): number | null => {
    try {
      return writeSync(masterFd, bytes);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EAGAIN' ? 0 : null;
    }
  };
  const dropAll = (): void => {
    dropped += pendingBytes;
    pending.length = 0;
    pendingBytes = 0;
  };
  /** Writes queued bytes until the kernel is full; then retries later (backing off up to 250 ms, never spinning). */
  const flush = (): void => {
    retry = undefined;
    while (!closed && pending.length > 0) {
      const head = pending[0] as Uint8Array;
      const n = writeNow(head);
      if (n === null) {
        dropAll();
        return;
      }
      if (n === 0) {
        retry = setTimeout(flush, retryDelayMs);
        retry.unref();
        retryDelayMs = Math.min(250, retryDelayMs * 2);
        return;
      }
      retryDelayMs = 10;
      pendingBytes -= n;
      if (n >= head.length) pending.shift();
      else pending[0] = head.subarray(n);
    }
  };

  master.on('data', (chunk: Buffer) => {
    if (closed || chunk.length === 0) return;
    options.onInput(Uint8Array.from(chunk));
  });
  // Without a listener of its own, node-pty rethrows stream errors; after close they are moot.
  master.on('error', () => undefined);

  return {
    ok: true,
    pty: {
      path,
      get droppedBytes() { return dropped; },
      get pendingBytes() { return pendingBytes; },
      write(bytes) {
        if (closed || bytes.length === 0) return;
        let rest = bytes;
        if (pending.length === 0) {
          const n = writeNow(rest);
          if (n === null) {
            dropped += rest.length;
            return;
          }
          rest = rest.subarray(n);
          if (rest.length === 0) return;
        }
        const take = Math.min(rest.length, Math.max(0, maxPending - pendingBytes));
        dropped += rest.length - take;
        if (take === 0) return;
        pending.push(Uint8Array.from(rest.subarray(0, take)));
        pendingBytes += take;
        if (retry === undefined) {
          retry = setTimeout(flush, retryDelayMs);
          retry.unref();
        }
      },
      close() {
        if (closed) return;
        closed = true;
        if (retry !== undefined) clearTimeout(retry);
        pending.length = 0;
        pendingBytes = 0;
        master.destroy();
        try {
          closeSync(slaveFd);
        } catch {
          // already gone
        }
      },
    },
  };
}
