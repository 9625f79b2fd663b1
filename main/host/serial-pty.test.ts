/**
 * The serial pseudo-terminal on its own: a "terminal program" opens the slave path with
 * node:fs and node:tty, as `screen` or `picocom` would, and bytes must pass unchanged both
 * ways (raw mode: no echo, no CR/NL translation, no signal characters).
 */
import { constants as fsConstants, existsSync, openSync, writeSync } from 'node:fs';
import tty from 'node:tty';
import { afterEach, describe, expect, it } from 'vitest';
import { openSerialPty, type SerialPty } from './serial-pty.js';

/** Every byte value, then the ones a cooked terminal would mangle. */
const ALL_BYTES = Uint8Array.from([...Array.from({ length: 256 }, (_, i) => i), 0x0d, 0x0a, 0x03, 0xff, 0x0d, 0x0d, 0x0a, 0x04, 0x1a, 0x11, 0x13, 0x7f, 0x1c]);

async function waitUntil(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const concat = (chunks: Uint8Array[]): Uint8Array => Uint8Array.from(chunks.flatMap((c) => [...c]));

/** A program on the slave side: an fd opened like a terminal program does, read through node:tty. */
function openSlave(path: string): { fd: number; received: () => Uint8Array; close: () => void } {
  const fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NOCTTY | fsConstants.O_NONBLOCK);
  const chunks: Uint8Array[] = [];
  const stream = new tty.ReadStream(fd);
  stream.on('data', (c: Buffer) => chunks.push(Uint8Array.from(c)));
  stream.on('error', () => undefined);
  return {
    fd,
    received: () => concat(chunks),
    close: () => { stream.destroy(); },
  };
}

describe.skipIf(process.platform === 'win32')('serial pseudo-terminal', () => {
  const ptys: SerialPty[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
    for (const p of ptys.splice(0)) p.close();
  });

  function open(maxPendingBytes?: number): { pty: SerialPty; input: Uint8Array[] } {
    const input: Uint8Array[] = [];
    const r = openSerialPty({ onInput: (b) => input.push(b), ...(maxPendingBytes === undefined ? {} : { maxPendingBytes }) });
    if (!r.ok) throw new Error(r.error);
    ptys.push(r.pty);
    return { pty: r.pty, input };
  }

  it('relays binary bytes both ways unchanged: no CRLF translation, no echo, no signal characters', async () => {
    const { pty, input } = open();
    expect(pty.path).toMatch(/^\/dev\/(pts\/\d+|ttys\d+)$/);
    expect(existsSync(pty.path)).toBe(true);
    const program = openSlave(pty.path);
    cleanups.push(program.close);

    // Guest output -> the program, byte for byte.
    pty.write(ALL_BYTES);
    await waitUntil('the guest output at the program', () => program.received().length >= ALL_BYTES.length);
    expect(program.received()).toEqual(ALL_BYTES);

    // The program's bytes -> guest input, byte for byte (its 0x03 is no SIGINT, its \n no \r\n).
    writeSync(program.fd, ALL_BYTES);
    await waitUntil('the program output as guest input', () => concat(input).length >= ALL_BYTES.length);
    expect(concat(input)).toEqual(ALL_BYTES);

    // No echo either way: nothing came back to the side that wrote.
    await new Promise((r) => setTimeout(r, 200));
    expect(program.received()).toEqual(ALL_BYTES);
    expect(concat(input)).toEqual(ALL_BYTES);
  });

  it('lets programs come and go while the pty stays open', async () => {
    const { pty, input } = open();
    const first = openSlave(pty.path);
    writeSync(first.fd, Uint8Array.of(0x61));
    await waitUntil('input from the first program', () => concat(input).length === 1);
    first.close();
    await new Promise((r) => setTimeout(r, 50));
    const second = openSlave(pty.path);
    cleanups.push(second.close);
    pty.write(Uint8Array.of(0x62, 0x0a));
    await waitUntil('output at the second program', () => second.received().length === 2);
    expect([...second.received()]).toEqual([0x62, 0x0a]);
  });

  it('never blocks or grows without bound when nobody reads: bounded queue, newest bytes dropped', async () => {
    const { pty } = open(4096);
    const chunk = new Uint8Array(64 * 1024).fill(0x55);
    const t0 = Date.now();
    for (let i = 0; i < 32; i++) pty.write(chunk); // 2 MiB, no reader
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(pty.pendingBytes).toBeLessThanOrEqual(4096);
    expect(pty.droppedBytes).toBeGreaterThan(1024 * 1024);
    // A program that opens later gets what the kernel and the queue held, then live output:
    // every byte written is either delivered or counted as dropped.
    const program = openSlave(pty.path);
    cleanups.push(program.close);
    await waitUntil('the backlog to be handed to the kernel', () => pty.pendingBytes === 0);
    pty.write(Uint8Array.of(0x0d, 0x0a));
    const total = 32 * chunk.length + 2;
    await waitUntil('the backlog and the live bytes', () => program.received().length === total - pty.droppedBytes, 10_000);
    expect([...program.received().subarray(-3)]).toEqual([0x55, 0x0d, 0x0a]);
  });

  it('removes the path on close, and a program still attached sees the end', async () => {
    const { pty, input } = open();
    const path = pty.path;
    const program = openSlave(path);
    let ended = false;
    const probe = new tty.ReadStream(openSync(path, fsConstants.O_RDWR | fsConstants.O_NOCTTY | fsConstants.O_NONBLOCK));
    probe.on('error', () => { ended = true; });
    probe.on('close', () => { ended = true; });
    probe.resume();
    pty.close();
    pty.write(Uint8Array.of(1, 2, 3)); // ignored after close
    await waitUntil('the attached program to see the hang-up', () => ended);
    program.close();
    probe.destroy();
    await waitUntil(`${path} to go away`, () => !existsSync(path));
    expect(input).toEqual([]);
    pty.close(); // idempotent
  });

  it('says why on a Windows host', () => {
    const r = openSerialPty({ onInput: () => undefined, platform: 'win32' });
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/not supported on this host \(Windows\)/) as unknown });
  });
});
