/**
 * The serial port as a host pseudo-terminal through the supervisor (`serial.pty`):
 * - with the echo stand-in worker: the relay at the supervisor boundary (worker
 *   `serial-out` to the pty and the console, pty bytes to worker `serial-in`), the reported
 *   path, and that it is gone after stop;
 * - with the real emulator worker: a boot sector that echoes COM1 (assembled with nasm at
 *   test time), so bytes go pty -> supervisor -> worker -> 16550 -> guest -> 16550 -> pty.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { constants as fsConstants, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { VmConfig } from '../../protocol/index.js';
import { BUILT_WORKER_URL, builtWorkerMissing, createEchoWorker } from './test-support/fake-workers.js';
import { VmSupervisor } from './vm-supervisor.js';

const unixHost = process.platform !== 'win32';
const workerMissing = builtWorkerMissing();
const nasmMissing = spawnSync('sh', ['-c', 'command -v nasm'], { stdio: 'ignore' }).status !== 0;
if (workerMissing) console.warn(`serial pty tests with the real worker skipped: ${workerMissing}`);
if (nasmMissing) console.warn('serial pty echo-guest test skipped: nasm is not installed (run scripts/setup.sh)');

const ID = 'test-vm-pty1';
function vm(overrides: Partial<VmConfig> = {}): VmConfig {
  return VmConfig.parse({
    version: 1, id: ID, name: 'Pty', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64,
    network: { mode: 'none', model: 'virtio' }, serial: { pty: true }, createdAt: '2026-01-01T00:00:00.000Z', ...overrides,
  });
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const bytesOf = (chunks: Uint8Array[]): number[] => chunks.flatMap((c) => [...c]);
const textOf = (chunks: Uint8Array[]): string => Buffer.from(bytesOf(chunks)).toString('latin1');

/** A terminal program on the pty's slave: node:fs to open and write, node:tty to read. */
function attach(ptyPath: string): { fd: number; received: Uint8Array[]; ended: () => boolean; close: () => void } {
  const fd = openSync(ptyPath, fsConstants.O_RDWR | fsConstants.O_NOCTTY | fsConstants.O_NONBLOCK);
  const received: Uint8Array[] = [];
  let ended = false;
  const stream = new tty.ReadStream(fd);
  stream.on('data', (c: Buffer) => received.push(Uint8Array.from(c)));
  stream.on('error', () => { ended = true; });
  stream.on('close', () => { ended = true; });
  return { fd, received, ended: () => ended, close: () => stream.destroy() };
}

describe.skipIf(!unixHost)('VmSupervisor: serial port as a host pseudo-terminal', () => {
  let sup: VmSupervisor | undefined;
  const programs: { close(): void }[] = [];
  const tmpDirs: string[] = [];

  function supervisor(create: (url: URL) => Worker, serialHistoryBytes?: number): VmSupervisor {
    sup = new VmSupervisor({ workerUrl: BUILT_WORKER_URL, createWorker: create, ...(serialHistoryBytes ? { serialHistoryBytes } : {}) });
    return sup;
  }

  afterEach(async () => {
    for (const p of programs.splice(0)) p.close();
    await sup?.close();
    sup = undefined;
  });
  afterAll(() => {
    for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
  });

  it('reports the path, relays both ways next to the console, and the path is gone after stop', async () => {
    const s = supervisor(() => createEchoWorker());
    const consoleBytes: Uint8Array[] = [];
    const consoleSession = s.openSerial(ID, { onData: (b) => consoleBytes.push(b) });
    await s.start(vm());
    const info = s.serialPtyOf(ID);
    expect(info).toEqual({ path: expect.stringMatching(/^\/dev\//) as unknown });
    if (!info || !('path' in info)) throw new Error('no pty path');
    expect(existsSync(info.path)).toBe(true);

    const program = attach(info.path);
    programs.push(program);
    // The program's bytes (binary, with CR, LF, ^C, 0xff) reach the guest unchanged; the
    // echo worker answers "echo:" + them, which reaches both the program and the console.
    const sent = [0x0d, 0x0a, 0x03, 0xff, 0x00, 0x41];
    writeSync(program.fd, Uint8Array.from(sent));
    const expected = [...Buffer.from('echo:'), ...sent];
    await waitUntil('the echo at the program', () => textOf(program.received).includes(Buffer.from(expected).toString('latin1')));
    await waitUntil('the echo at the console', () => textOf(consoleBytes).includes(Buffer.from(expected).toString('latin1')));
    // Input from the console reaches the guest, and the answer reaches the pty too.
    consoleSession.write(Buffer.from('from-console'));
    await waitUntil('the console input echoed to the pty', () => textOf(program.received).includes('echo:from-console'));
    consoleSession.close();

    await s.stop(ID);
    expect(s.serialPtyOf(ID)).toBeNull();
    await waitUntil('the program to see the hang-up', () => program.ended());
    program.close();
    await waitUntil(`${info.path} to go away`, () => !existsSync(info.path));
  });

  it('reports nothing for a VM without the setting, and a reason when the host has no pty', async () => {
    const s = supervisor(() => createEchoWorker());
    await s.start(vm({ serial: { pty: false } }));
    expect(s.serialPtyOf(ID)).toBeNull();
    await s.stop(ID);
    await s.start(vm({ serial: undefined }));
    expect(s.serialPtyOf(ID)).toBeNull();
    await s.stop(ID);

    sup = new VmSupervisor({
      workerUrl: BUILT_WORKER_URL, createWorker: () => createEchoWorker(),
      openSerialPty: () => ({ ok: false, error: 'A serial pseudo-terminal is not supported on this host (Windows)' }),
    });
    await s.close();
    await sup.start(vm());
    expect(sup.stateOf(ID).state).toBe('running');
    expect(sup.serialPtyOf(ID)).toEqual({ error: 'A serial pseudo-terminal is not supported on this host (Windows)' });
  });

  it('closes the pty when the VM is forced off or crashes', async () => {
    const s = supervisor(() => createEchoWorker());
    await s.start(vm());
    const first = s.serialPtyOf(ID);
    if (!first || !('path' in first)) throw new Error('no pty path');
    await s.forceOff(ID);
    await waitUntil(`${first.path} to go away after force off`, () => !existsSync(first.path));
    await s.start(vm());
    const second = s.serialPtyOf(ID);
    if (!second || !('path' in second)) throw new Error('no pty path');
    s.killWorkerForTest(ID);
    await waitUntil('crashed', () => s.stateOf(ID).state === 'crashed');
    expect(s.serialPtyOf(ID)).toBeNull();
    await waitUntil(`${second.path} to go away after the crash`, () => !existsSync(second.path));
  });

  describe.skipIf(workerMissing !== null || nasmMissing)('with the real emulator worker', () => {
    it('a guest that echoes COM1 sends back the bytes a program writes to the pty, unchanged', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-pty-'));
      tmpDirs.push(dir);
      const bin = path.join(dir, 'echo.bin');
      execFileSync('nasm', ['-f', 'bin', '-o', bin, path.resolve(import.meta.dirname, 'test-support', 'serial-echo.asm')]);
      const disk = path.join(dir, 'echo.img');
      const image = Buffer.alloc(1024 * 1024);
      readFileSync(bin).copy(image, 0);
      writeFileSync(disk, image);

      const s = supervisor((url) => new Worker(url));
      await s.start(vm({
        bootOrder: ['disk'], drives: [{ id: 'disk0', kind: 'disk', path: disk, format: 'raw', bus: 'ide', readOnly: false }],
      }));
      const info = s.serialPtyOf(ID);
      if (!info || !('path' in info)) throw new Error(`no pty path: ${JSON.stringify(info)}`);
      const program = attach(info.path);
      programs.push(program);
      await waitUntil('the guest banner on the pty', () => textOf(program.received).includes('ECHO-READY\r\n'), 60_000);
      const before = bytesOf(program.received).length;
      const sent = [0x68, 0x69, 0x0d, 0x0a, 0x03, 0xff, 0x00, 0x7f, 0x1b];
      writeSync(program.fd, Uint8Array.from(sent));
      await waitUntil('the echo through the guest', () => bytesOf(program.received).length >= before + sent.length, 30_000);
      expect(bytesOf(program.received).slice(before)).toEqual(sent);

      await s.stop(ID);
      await waitUntil('the program to see the hang-up', () => program.ended());
      program.close();
      await waitUntil(`${info.path} to go away`, () => !existsSync(info.path));
    }, 120_000);
  });
});
