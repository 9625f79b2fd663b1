import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listenAgentSocket } from './agent-socket.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-agent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function once(sock: ReturnType<typeof connect>, event: 'connect' | 'data' | 'close'): Promise<Buffer | undefined> {
  return new Promise((resolve) => sock.once(event, (d?: Buffer) => resolve(d)));
}

describe('--agent-socket', () => {
  it('relays bytes both ways with one client, drops guest bytes without one, removes the socket on close', async () => {
    const p = path.join(dir, 'qga.sock');
    const toGuest: number[] = [];
    const warnings: string[] = [];
    const agent = await listenAgentSocket(p, (b) => toGuest.push(...b), (m) => warnings.push(m));
    agent.fromGuest(new Uint8Array([1, 2, 3])); // nobody listening: dropped
    const c = connect(p);
    await once(c, 'connect');
    c.write(Buffer.from([0x7b, 0x00, 0xff, 0x0a]));
    await new Promise((r) => setTimeout(r, 50));
    expect(toGuest).toEqual([0x7b, 0x00, 0xff, 0x0a]);
    const got = once(c, 'data');
    agent.fromGuest(new Uint8Array([9, 8, 7]));
    expect([...(await got)!]).toEqual([9, 8, 7]);

    const second = connect(p);
    await once(second, 'close');
    expect(warnings.join()).toMatch(/already connected/);

    const closed = once(c, 'close');
    await agent.close();
    await closed;
    expect(existsSync(p)).toBe(false);
  });

  it('replaces a stale socket but refuses to replace a regular file', async () => {
    const file = path.join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    await expect(listenAgentSocket(file, () => {}, () => {})).rejects.toThrow(/exists and is not a socket/);
    const p = path.join(dir, 'stale.sock');
    // A socket file left behind by a process that died (bound, never unlinked).
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', p]);
    expect(existsSync(p)).toBe(true);
    const again = await listenAgentSocket(p, () => {}, () => {});
    const c = connect(p);
    await once(c, 'connect');
    c.destroy();
    await again.close();
  });
});
