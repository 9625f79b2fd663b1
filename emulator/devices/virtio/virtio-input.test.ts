import { describe, expect, it } from 'vitest';
import { VirtioPci } from './virtio-pci.js';
import { MockGuestMemory } from './test-support/mock-driver.js';
import { bringUp } from './test-support/pci-driver.js';
import {
  ABS_Y, BTN_LEFT, EV_ABS, EV_KEY, EV_LED, EV_REL, EV_SYN, REL_WHEEL, VIRTIO_INPUT_CFG_ABS_INFO, VIRTIO_INPUT_CFG_EV_BITS,
  VIRTIO_INPUT_CFG_ID_DEVIDS, VIRTIO_INPUT_CFG_ID_NAME, VirtioInput, type InputEvent,
} from './virtio-input.js';

describe('VirtioInput (virtio 1.2 §5.8)', () => {
  it('is a modern-only 1af4:1052 function answering config queries', () => {
    const tab = new VirtioInput({ id: 'tablet', kind: 'tablet' });
    const pci = new VirtioPci({ id: 'p', device: tab, memory: new MockGuestMemory(16), deliverMsi: () => undefined });
    expect(pci.configRead(0, 4)).toBe(0x1052_1af4);
    expect(pci.barHandler(0)).toBeUndefined();
    tab.writeConfig(0, 1, VIRTIO_INPUT_CFG_ID_NAME);
    const size = tab.readConfig(2, 1);
    const name = new Uint8Array(size).map((_, i) => tab.readConfig(8 + i, 1));
    expect(new TextDecoder().decode(name)).toBe('QEMU Virtio Tablet');
    tab.writeConfig(0, 2, VIRTIO_INPUT_CFG_ABS_INFO | (ABS_Y << 8));
    expect(tab.readConfig(2, 1)).toBe(20);
    expect(tab.readConfig(12, 4)).toBe(32767);
    tab.writeConfig(0, 2, VIRTIO_INPUT_CFG_EV_BITS | (EV_ABS << 8));
    expect(tab.readConfig(8, 1)).toBe(0b11);
    tab.writeConfig(0, 2, VIRTIO_INPUT_CFG_EV_BITS | (EV_KEY << 8));
    expect(tab.readConfig(8 + (BTN_LEFT >> 3), 1) & 1).toBe(1);
    tab.writeConfig(0, 2, VIRTIO_INPUT_CFG_EV_BITS | (EV_LED << 8));
    expect(tab.readConfig(2, 1)).toBe(0);
    tab.writeConfig(0, 1, VIRTIO_INPUT_CFG_ID_DEVIDS);
    expect(tab.readConfig(12, 2)).toBe(3);
  });

  it('delivers tablet reports into event buffers and reads LED status', () => {
    const status: InputEvent[] = [];
    const kbd = new VirtioInput({ id: 'kbd', kind: 'keyboard', onStatus: (e) => status.push(e) });
    const r = bringUp(kbd);
    const q = r.queues[0]!;
    kbd.key(30, true); // queued before buffers exist
    const bufs = Array.from({ length: 4 }, () => q.post([{ writeLen: 8 }]));
    r.notify(0);
    const used = q.takeUsed();
    expect(used.map((u) => u.len)).toEqual([8, 8]);
    const ev = (i: number): number[] => { const b = q.read(bufs[i]!.gpas[0]!, 8); const dv = new DataView(b.buffer); return [dv.getUint16(0, true), dv.getUint16(2, true), dv.getInt32(4, true)]; };
    expect([ev(0), ev(1)]).toEqual([[EV_KEY, 30, 1], [EV_SYN, 0, 0]]);
    const led = new Uint8Array(8);
    new DataView(led.buffer).setUint16(0, EV_LED, true);
    new DataView(led.buffer).setInt32(4, 1, true);
    r.queues[1]!.post([{ data: led }]);
    r.notify(1);
    expect(status).toEqual([{ type: EV_LED, code: 0, value: 1 }]);

    const tab = new VirtioInput({ id: 'tab', kind: 'tablet' });
    const t = bringUp(tab);
    for (let i = 0; i < 8; i++) t.queues[0]!.post([{ writeLen: 8 }]);
    t.notify(0);
    tab.pointer(40000, 100, [[BTN_LEFT, true]]);
    expect(t.queues[0]!.takeUsed()).toHaveLength(4);
    expect(tab.eventsDropped).toBe(0);
  });

  it('maps console pointer positions onto the tablet: scaled axes, changed buttons, wheel steps; active only with a driver', () => {
    const tab = new VirtioInput({ id: 'tab', kind: 'tablet' });
    expect(tab.driverActive).toBe(false);
    const t = bringUp(tab);
    expect(tab.driverActive).toBe(true);
    const bufs = Array.from({ length: 16 }, () => t.queues[0]!.post([{ writeLen: 8 }]));
    t.notify(0);
    tab.pointerFromScreen(1023, 384, 1024, 768, 0x01, 0x00); // bottom-right column, middle row, left pressed
    tab.pointerFromScreen(0, 0, 1024, 768, 0x08, 0x01); // left released, wheel up
    const used = t.queues[0]!.takeUsed();
    const ev = (i: number): number[] => {
      const b = t.queues[0]!.read(bufs[i]!.gpas[0]!, 8);
      const dv = new DataView(b.buffer);
      return [dv.getUint16(0, true), dv.getUint16(2, true), dv.getInt32(4, true)];
    };
    const events = used.map((_, i) => ev(i));
    expect(events).toEqual([
      [EV_ABS, 0, 32767], [EV_ABS, ABS_Y, Math.round((384 * 32767) / 767)], [EV_KEY, BTN_LEFT, 1], [EV_SYN, 0, 0],
      [EV_ABS, 0, 0], [EV_ABS, ABS_Y, 0], [EV_KEY, BTN_LEFT, 0], [EV_SYN, 0, 0],
      [EV_REL, REL_WHEEL, 1], [EV_SYN, 0, 0],
    ]);
    tab.reset();
    expect(tab.driverActive).toBe(false);
  });
});
