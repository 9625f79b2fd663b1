import { describe, expect, it } from 'vitest';
import type { VireoBridge } from '../../../protocol/index.js';
import { PortVncChannel, vncUrlFor } from './vnc-channel.js';

/** A window stand-in: message listeners and postMessage with ports, like the preload uses. */
function fakeWindow(): { win: Window; post(data: unknown, ports: unknown[]): void } {
  const listeners = new Set<(ev: MessageEvent) => void>();
  const win = {
    crypto: { randomUUID: () => 'nonce-0123456789' },
    addEventListener: (_t: string, l: (ev: MessageEvent) => void) => listeners.add(l),
    removeEventListener: (_t: string, l: (ev: MessageEvent) => void) => listeners.delete(l),
  } as unknown as Window;
  return {
    win,
    post: (data, ports) => { for (const l of [...listeners]) l({ source: win, data, ports } as unknown as MessageEvent); },
  };
}

describe('vncUrlFor', () => {
  it('keeps the origin and token of the API URL', () => {
    expect(vncUrlFor('ws://127.0.0.1:8470/api?token=abc', 'vm 1')).toBe('ws://127.0.0.1:8470/vm/vm%201/vnc?token=abc');
  });
});

describe('PortVncChannel', () => {
  it('is a raw channel noVNC accepts, opens with the port for its nonce and carries bytes both ways', async () => {
    const { win, post } = fakeWindow();
    const asked: string[] = [];
    const bridge = { openVnc: async (id: string, nonce: string) => { asked.push(`${id}/${nonce}`); return { ok: true }; } } as unknown as VireoBridge;
    const ch = new PortVncChannel(bridge, 'vm1', win);
    // noVNC's Websock.attach needs these names on the object or its direct prototype.
    const names = [...Object.keys(ch), ...Object.getOwnPropertyNames(Object.getPrototypeOf(ch))];
    for (const p of ['send', 'close', 'binaryType', 'onerror', 'onmessage', 'onopen', 'protocol', 'readyState']) expect(names).toContain(p);
    expect(ch.readyState).toBe(0);
    await Promise.resolve();
    expect(asked).toEqual(['vm1/nonce-0123456789']);

    let opened = false;
    const got: number[][] = [];
    ch.onopen = () => { opened = true; };
    ch.onmessage = (ev) => got.push([...new Uint8Array(ev.data)]);
    const { port1, port2 } = new MessageChannel();
    post({ kind: 'vireo:vnc-port', nonce: 'wrong-nonce-000' }, [port2]);
    expect(opened).toBe(false);
    post({ kind: 'vireo:vnc-port', nonce: 'nonce-0123456789' }, [port2]);
    expect(opened).toBe(true);
    expect(ch.readyState).toBe(1);

    const fromPage = new Promise<number[]>((resolve) => { port1.onmessage = (ev: MessageEvent<Uint8Array>) => resolve([...ev.data]); });
    ch.send(Uint8Array.of(1, 2, 3));
    expect(await fromPage).toEqual([1, 2, 3]);
    port1.postMessage(Uint8Array.of(9, 8));
    await expect.poll(() => got).toEqual([[9, 8]]);

    let closed: { code: number } | null = null;
    ch.onclose = (ev) => { closed = ev; };
    ch.close();
    expect(ch.readyState).toBe(3);
    expect(closed).toMatchObject({ code: 1000 });
    port1.close();
  });

  it('reports a refused request as an error and a close', async () => {
    const { win } = fakeWindow();
    const bridge = { openVnc: async () => ({ ok: false, error: { code: 'conflict', message: 'VM "x" is stopped' } }) } as unknown as VireoBridge;
    const ch = new PortVncChannel(bridge, 'vm1', win);
    const events: string[] = [];
    ch.onerror = () => events.push('error');
    ch.onclose = (ev) => events.push(`close ${ev.code} ${ev.reason}`);
    await expect.poll(() => events).toEqual(['error', 'close 1006 VM "x" is stopped']);
  });
});
