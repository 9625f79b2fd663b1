import { describe, expect, it } from 'vitest';
import { WebSocketSerialStream } from './serial-stream.js';
import { serialUrlFor } from './ws-client.js';

/** A scripted WebSocket: the test opens, delivers and closes it. */
class FakeSocket {
  static last: FakeSocket | null = null;
  readyState = 0;
  binaryType = 'blob';
  sent: Uint8Array[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) { FakeSocket.last = this; }
  send(b: Uint8Array): void { this.sent.push(b); }
  close(): void { this.readyState = 3; }
  open(): void { this.readyState = 1; this.onopen?.(); }
}

describe('serialUrlFor', () => {
  it('puts /vm/<id>/serial next to the API endpoint, keeping the token', () => {
    expect(serialUrlFor('ws://127.0.0.1:8470/api?token=a%2Bb', 'vm-1')).toBe('ws://127.0.0.1:8470/vm/vm-1/serial?token=a%2Bb');
    expect(serialUrlFor('wss://h/api', 'a/b')).toBe('wss://h/vm/a%2Fb/serial');
  });
});

describe('WebSocketSerialStream', () => {
  it('queues writes until open, delivers binary frames and reports close reasons', () => {
    const stream = new WebSocketSerialStream('ws://h/vm/x/serial', FakeSocket as unknown as new (url: string) => WebSocket);
    const ws = FakeSocket.last;
    if (!ws) throw new Error('no socket');
    expect(ws.binaryType).toBe('arraybuffer');
    const statuses: string[] = [];
    const data: number[][] = [];
    stream.onStatus((s) => statuses.push(s));
    stream.onData((b) => data.push([...b]));
    stream.write(Uint8Array.of(1, 2));
    expect(ws.sent).toEqual([]);
    ws.open();
    expect(ws.sent.map((b) => [...b])).toEqual([[1, 2]]);
    ws.onmessage?.({ data: Uint8Array.of(7, 8).buffer });
    ws.onmessage?.({ data: 'text' });
    expect(data).toEqual([[7, 8]]);
    ws.onclose?.({ code: 1013, reason: 'too slow' });
    expect(statuses).toEqual(['open', 'closed']);
    expect(stream.closeReason()).toBe('the serial console closed (1013: too slow)');
    stream.write(Uint8Array.of(3));
    expect(ws.sent).toHaveLength(1);
  });
});
