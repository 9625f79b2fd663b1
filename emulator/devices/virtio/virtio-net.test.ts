import { describe, expect, it } from 'vitest';
import type { NetBackend } from '../../net/net-backend.js';
import { bringUp } from './test-support/pci-driver.js';
import { VIRTIO_F_VERSION_1 } from './virtio-constants.js';
import { VIRTIO_NET_CTRL_RX, VIRTIO_NET_ERR, VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_OK, VirtioNet } from './virtio-net.js';

class FakeLink implements NetBackend {
  sent: Uint8Array[] = [];
  private handler: ((f: Uint8Array) => void) | null = null;
  send(frame: Uint8Array): void { this.sent.push(frame); }
  onReceive(h: (f: Uint8Array) => void): void { this.handler = h; }
  inject(frame: Uint8Array): void { this.handler?.(frame); }
  async close(): Promise<void> { /* nothing */ }
}

const MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
const frame = (n: number, seed: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

describe('VirtioNet (virtio 1.2 §5.1)', () => {
  it('exposes MAC and link status in config', () => {
    const net = new VirtioNet({ id: 'net0', mac: MAC, backend: new FakeLink() });
    expect([0, 1, 2, 3, 4, 5].map((i) => net.readConfig(i, 1))).toEqual([...MAC]);
    expect(net.readConfig(6, 2)).toBe(1);
  });

  it('transmits frames without the 12-byte header and loops received frames into mergeable buffers', () => {
    const link = new FakeLink();
    const net = new VirtioNet({ id: 'net0', mac: MAC, backend: link });
    const r = bringUp(net, { msix: true });
    const [rx, tx] = [r.queues[0]!, r.queues[1]!];
    const f1 = frame(60, 1);
    const hdr = new Uint8Array(12);
    const t = tx.post([{ data: hdr }, { data: f1 }]);
    r.notify(1);
    expect(link.sent).toEqual([f1]);
    expect(tx.takeUsed()).toEqual([{ id: t.head, len: 0 }]);
    expect(r.msis.map((m) => m.data)).toEqual([0x41]); // tx queue vector 1
    // a 1500-byte frame into 1024-byte buffers: two chains, num_buffers = 2
    const bufs = [rx.post([{ writeLen: 1024 }]), rx.post([{ writeLen: 1024 }]), rx.post([{ writeLen: 1024 }])];
    r.notify(0);
    const f2 = frame(1500, 2);
    link.inject(f2);
    const used = rx.takeUsed();
    expect(used).toEqual([{ id: bufs[0]!.head, len: 1024 }, { id: bufs[1]!.head, len: 1512 - 1024 }]);
    const got = new Uint8Array(1512);
    got.set(rx.read(bufs[0]!.gpas[0]!, 1024));
    got.set(rx.read(bufs[1]!.gpas[0]!, 488), 1024);
    expect(new DataView(got.buffer).getUint16(10, true)).toBe(2);
    expect(got.subarray(12)).toEqual(f2);
    expect(net.stats.rxFrames).toBe(1);
  });

  it('acknowledges control commands (RX mode) and refuses unknown classes', () => {
    const net = new VirtioNet({ id: 'net0', mac: MAC, backend: new FakeLink() });
    const r = bringUp(net);
    const cq = r.queues[2]!;
    const ok = cq.post([{ data: Uint8Array.of(VIRTIO_NET_CTRL_RX, 0) }, { data: Uint8Array.of(1) }, { writeLen: 1 }]);
    const bad = cq.post([{ data: Uint8Array.of(42, 0) }, { writeLen: 1 }]);
    r.notify(2);
    expect(cq.takeUsed()).toEqual([{ id: ok.head, len: 1 }, { id: bad.head, len: 1 }]);
    expect(cq.read(ok.gpas[2]!, 1)[0]).toBe(VIRTIO_NET_OK);
    expect(cq.read(bad.gpas[1]!, 1)[0]).toBe(VIRTIO_NET_ERR);
    expect(net.controlLog.get('0.0')).toBe(1);
  });

  it('with MRG_RXBUF a large frame waits until enough buffers are posted', () => {
    const link = new FakeLink();
    const net = new VirtioNet({ id: 'net0', mac: MAC, backend: link });
    const r = bringUp(net, { msix: true });
    const rx = r.queues[0]!;
    rx.post([{ writeLen: 1024 }]);
    r.notify(0);
    const big = frame(3000, 5);
    link.inject(big);
    expect(rx.usedIdx).toBe(0);
    expect(r.pci.queues[0]!.nextAvail).toBe(0); // the lone buffer was given back
    rx.post([{ writeLen: 1024 }]);
    rx.post([{ writeLen: 1024 }]);
    r.notify(0);
    expect(rx.takeUsed().map((u) => u.len)).toEqual([1024, 1024, 3012 - 2048]);
    expect(net.stats).toMatchObject({ rxFrames: 1, rxDropped: 0 });
  });

  it('queues frames until the guest posts buffers, and uses the 10-byte header without VERSION_1/MRG_RXBUF', () => {
    const link = new FakeLink();
    const net = new VirtioNet({ id: 'net0', mac: MAC, backend: link });
    const r = bringUp(net, { accept: VIRTIO_NET_F_MAC });
    expect(r.pci.negotiatedFeatures & (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MRG_RXBUF)).toBe(0n);
    const f = frame(100, 3);
    link.inject(f);
    expect(r.queues[0]!.usedIdx).toBe(0);
    const b = r.queues[0]!.post([{ writeLen: 2048 }]);
    r.notify(0);
    expect(r.queues[0]!.takeUsed()).toEqual([{ id: b.head, len: 110 }]);
    expect(r.queues[0]!.read(b.gpas[0]! + 10, 100)).toEqual(f);
    expect(r.irq.level).toBe(true);
    // a frame too big for one buffer without MRG_RXBUF is dropped
    r.queues[0]!.post([{ writeLen: 64 }]);
    r.notify(0);
    link.inject(frame(200, 4));
    expect(net.stats.rxDropped).toBe(1);
    // runt transmit is dropped and counted
    r.queues[1]!.post([{ data: new Uint8Array(12) }]);
    r.notify(1);
    expect(net.stats.txDropped).toBe(1);
    expect(link.sent).toHaveLength(0);
  });
});
