import { describe, expect, it } from 'vitest';
import type { MockDriverQueue } from './test-support/mock-driver.js';
import { bringUp } from './test-support/pci-driver.js';
import {
  QEMU_GUEST_AGENT_PORT, VIRTIO_CONSOLE_CONSOLE_PORT, VIRTIO_CONSOLE_DEVICE_ADD, VIRTIO_CONSOLE_DEVICE_READY,
  VIRTIO_CONSOLE_PORT_NAME, VIRTIO_CONSOLE_PORT_OPEN, VIRTIO_CONSOLE_PORT_READY, VirtioConsole,
} from './virtio-console.js';

function ctrl(id: number, event: number, value: number): Uint8Array {
  const m = new Uint8Array(8);
  const dv = new DataView(m.buffer);
  dv.setUint32(0, id, true);
  dv.setUint16(4, event, true);
  dv.setUint16(6, value, true);
  return m;
}

function readCtrl(q: MockDriverQueue, gpaOf: Map<number, number>): Array<{ id: number; event: number; value: number; extra: string }> {
  return q.takeUsed().map((u) => {
    const b = q.read(gpaOf.get(u.id)!, u.len);
    const dv = new DataView(b.buffer);
    return { id: dv.getUint32(0, true), event: dv.getUint16(4, true), value: dv.getUint16(6, true), extra: new TextDecoder().decode(b.subarray(8)) };
  });
}

describe('VirtioConsole (virtio 1.2 §5.3, MULTIPORT)', () => {
  it('announces named ports over the control queues and moves bytes both ways', () => {
    const fromGuest: string[] = [];
    const opens: boolean[] = [];
    const con = new VirtioConsole({
      id: 'vcon', maxPorts: 2, ports: [
        { name: '', console: true, onGuestData: () => undefined },
        { name: QEMU_GUEST_AGENT_PORT, onGuestData: (b) => fromGuest.push(new TextDecoder().decode(b)), onGuestOpen: (o) => opens.push(o) },
      ],
    });
    expect(con.readConfig(4, 4)).toBe(2); // max_nr_ports
    expect(con.queueMaxSizes).toHaveLength(6);
    const r = bringUp(con);
    const [, , crx, ctx, p1rx, p1tx] = r.queues as MockDriverQueue[];
    const gpaOf = new Map<number, number>();
    for (let i = 0; i < 8; i++) { const p = crx!.post([{ writeLen: 64 }]); gpaOf.set(p.head, p.gpas[0]!); }
    r.notify(2);
    ctx!.post([{ data: ctrl(0, VIRTIO_CONSOLE_DEVICE_READY, 1) }]);
    r.notify(3);
    expect(readCtrl(crx!, gpaOf).map((m) => [m.id, m.event])).toEqual([[0, VIRTIO_CONSOLE_DEVICE_ADD], [1, VIRTIO_CONSOLE_DEVICE_ADD]]);
    ctx!.post([{ data: ctrl(0, VIRTIO_CONSOLE_PORT_READY, 1) }]);
    ctx!.post([{ data: ctrl(1, VIRTIO_CONSOLE_PORT_READY, 1) }]);
    r.notify(3);
    expect(readCtrl(crx!, gpaOf)).toEqual([
      { id: 0, event: VIRTIO_CONSOLE_CONSOLE_PORT, value: 1, extra: '' },
      { id: 0, event: VIRTIO_CONSOLE_PORT_OPEN, value: 1, extra: '' },
      { id: 1, event: VIRTIO_CONSOLE_PORT_NAME, value: 1, extra: QEMU_GUEST_AGENT_PORT },
      { id: 1, event: VIRTIO_CONSOLE_PORT_OPEN, value: 1, extra: '' },
    ]);
    // the guest agent opens its port and says hello
    ctx!.post([{ data: ctrl(1, VIRTIO_CONSOLE_PORT_OPEN, 1) }]);
    r.notify(3);
    expect(opens).toEqual([true]);
    expect(con.isGuestOpen(1)).toBe(true);
    p1tx!.post([{ data: new TextEncoder().encode('{"execute":') }, { data: new TextEncoder().encode('"guest-ping"}') }]);
    r.notify(5);
    expect(fromGuest).toEqual(['{"execute":"guest-ping"}']);
    // host -> guest: queued until buffers arrive, then split over them
    con.writeToGuest(1, new TextEncoder().encode('{"return": {}}\n'));
    const b1 = p1rx!.post([{ writeLen: 8 }]);
    const b2 = p1rx!.post([{ writeLen: 64 }]);
    r.notify(4);
    const used = p1rx!.takeUsed();
    expect(used).toEqual([{ id: b1.head, len: 8 }, { id: b2.head, len: 7 }]);
    const text = new TextDecoder().decode(p1rx!.read(b1.gpas[0]!, 8)) + new TextDecoder().decode(p1rx!.read(b2.gpas[0]!, 7));
    expect(text).toBe('{"return": {}}\n');
    // host disconnect is announced
    con.setHostConnected(1, false);
    expect(readCtrl(crx!, gpaOf)).toEqual([{ id: 1, event: VIRTIO_CONSOLE_PORT_OPEN, value: 0, extra: '' }]);
    // bogus control messages are counted, not thrown
    ctx!.post([{ data: ctrl(9, VIRTIO_CONSOLE_PORT_READY, 1) }, { data: new Uint8Array(2) }]);
    r.notify(3);
    expect(r.log.some((l) => /unknown port 9/.test(l))).toBe(true);
    // reset closes the guest side
    r.setCommon(0x14, 1, 0);
    expect(opens).toEqual([true, false]);
  });
});
