/**
 * Snapshot round trips per device (save, JSON, load into a fresh instance, save again)
 * through the transport, and rejection of malformed device state.
 */
import { describe, expect, it } from 'vitest';
import { MemoryImageFile } from '../../storage/memory-image-file.js';
import { RawBackend } from '../../storage/raw.js';
import { NullNetBackend } from '../../net/null-backend.js';
import { bringUp } from './test-support/pci-driver.js';
import { VirtioBalloon } from './virtio-balloon.js';
import { VirtioBlk } from './virtio-blk.js';
import { VirtioConsole } from './virtio-console.js';
import type { VirtioDevice } from './virtio-device.js';
import { VirtioInput } from './virtio-input.js';
import { VirtioNet } from './virtio-net.js';
import { VirtioPci } from './virtio-pci.js';
import { VirtioRng } from './virtio-rng.js';
import { VirtioScsi } from './virtio-scsi.js';

async function devices(): Promise<Array<() => VirtioDevice>> {
  const backend = await RawBackend.open(new MemoryImageFile('m', new Uint8Array(4096)));
  return [
    () => new VirtioBlk({ id: 'vda', backend }),
    () => new VirtioNet({ id: 'net', mac: Uint8Array.of(2, 0, 0, 0, 0, 1), backend: new NullNetBackend() }),
    () => new VirtioConsole({ id: 'con', maxPorts: 2, ports: [{ name: 'x', onGuestData: () => undefined }] }),
    () => new VirtioRng({ id: 'rng', entropy: (d) => d.fill(3) }),
    () => new VirtioBalloon({ id: 'bal', ramBytes: 1 << 20 }),
    () => new VirtioInput({ id: 'kbd', kind: 'keyboard' }),
    () => new VirtioScsi({ id: 'vscsi', units: [{ target: 0, lun: 0, kind: 'disk', backend }, { target: 1, lun: 0, kind: 'cdrom', backend: null }] }),
  ];
}

describe('virtio state round trips', () => {
  it('save -> JSON -> load -> save is identical for every device, and the queues keep working', async () => {
    for (const make of await devices()) {
      const r = bringUp(make(), { msix: true });
      const s1 = JSON.parse(JSON.stringify(r.pci.saveState())) as unknown;
      const dev2 = make();
      const pci2 = new VirtioPci({ id: r.pci.id, device: dev2, memory: r.mem, deliverMsi: () => undefined });
      pci2.loadState(s1);
      expect(pci2.saveState()).toEqual(s1);
      expect(pci2.queues.every((q, i) => q.ready === (r.queues[i] !== undefined))).toBe(true);
    }
  });

  it('rejects malformed device state without touching the device', async () => {
    for (const make of await devices()) {
      const d = make();
      const before = JSON.stringify(d.saveState());
      for (const bad of [null, 7, { v: 2 }, { ...d.saveState(), v: 1, mac: [1], ports: 'x', pages: [[-1, 1]], select: 300 }]) {
        try { d.loadState(bad); } catch { /* expected for invalid input */ }
      }
      expect(() => d.loadState({ v: 99 })).toThrow();
      expect(JSON.stringify(d.saveState())).toBe(before);
    }
  });
});
