/**
 * Fuzz-style properties (fast-check): hostile drivers must never make a device throw
 * or hang. Random descriptor tables and rings behind every queue of every device, and
 * random register traffic on the PCI transport.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryImageFile } from '../../storage/memory-image-file.js';
import { RawBackend } from '../../storage/raw.js';
import { NullNetBackend } from '../../net/null-backend.js';
import { MockGuestMemory } from './test-support/mock-driver.js';
import { bringUp } from './test-support/pci-driver.js';
import { VirtioBalloon } from './virtio-balloon.js';
import { VirtioBlk } from './virtio-blk.js';
import { VirtioConsole } from './virtio-console.js';
import { VIRTIO_STATUS_DEVICE_NEEDS_RESET } from './virtio-constants.js';
import type { VirtioDevice } from './virtio-device.js';
import { VirtioNet } from './virtio-net.js';
import { VirtioPci } from './virtio-pci.js';
import { VirtioRng } from './virtio-rng.js';
import { VirtioScsi } from './virtio-scsi.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './virtqueue.js';

type Kind = 'blk' | 'net' | 'console' | 'rng' | 'balloon' | 'scsi';

async function makeDevice(kind: Kind): Promise<{ dev: VirtioDevice; settle: () => Promise<void> }> {
  switch (kind) {
    case 'blk': {
      const blk = new VirtioBlk({ id: 'vda', backend: await RawBackend.open(new MemoryImageFile('m', new Uint8Array(16384))) });
      return { dev: blk, settle: () => blk.drain() };
    }
    case 'net': return { dev: new VirtioNet({ id: 'net', mac: new Uint8Array(6), backend: new NullNetBackend() }), settle: async () => undefined };
    case 'console': return { dev: new VirtioConsole({ id: 'con', maxPorts: 2, ports: [{ name: 'a', onGuestData: () => undefined }] }), settle: async () => undefined };
    case 'rng': return { dev: new VirtioRng({ id: 'rng', entropy: (d) => d.fill(1) }), settle: async () => undefined };
    case 'balloon': return { dev: new VirtioBalloon({ id: 'bal', ramBytes: 1 << 20 }), settle: async () => undefined };
    case 'scsi': {
      const scsi = new VirtioScsi({ id: 'vscsi', units: [{ target: 0, lun: 0, kind: 'disk', backend: await RawBackend.open(new MemoryImageFile('m', new Uint8Array(16384))) }] });
      return { dev: scsi, settle: () => scsi.drain() };
    }
  }
}

const descArb = fc.record({
  addr: fc.oneof(fc.integer({ min: 0, max: 0xfffff }), fc.constantFrom(0, 0xffff_fff0, 2 ** 40, 2 ** 53 - 16)),
  len: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.constantFrom(16, 32, 0xffff_ffff, 0x1000_0000)),
  flags: fc.constantFrom(0, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT, 7),
  next: fc.integer({ min: 0, max: 20 }),
});

describe('virtio fuzz', () => {
  it('random rings behind every device: NEEDS_RESET or dropped requests, never a throw or hang', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom<Kind>('blk', 'net', 'console', 'rng', 'balloon', 'scsi'),
      fc.array(descArb, { minLength: 16, maxLength: 16 }),
      fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 10 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      async (kind, descs, heads, idx, junk) => {
        const { dev, settle } = await makeDevice(kind);
        const r = bringUp(dev, { msix: idx % 2 === 0, memoryBytes: 0x100000 });
        r.queues.forEach((q, qi) => {
          if (!q) return;
          descs.forEach((d, i) => q.writeDesc(i, d));
          for (const h of heads) q.publish(h);
          if (idx % 3 === 0) q.setAvailIdx(idx);
          // junk in a data area that descriptors may point at
          r.mem.bytes.set(junk, 0x800 + qi * 64);
          r.notify(qi);
        });
        await settle();
        const needsReset = (r.pci.deviceStatus & VIRTIO_STATUS_DEVICE_NEEDS_RESET) !== 0;
        const broken = r.pci.queues.some((q) => q.broken !== null);
        expect(broken ? needsReset : true).toBe(true);
      }), { numRuns: 120 });
  });

  it('random register traffic on the transport never throws', () => {
    const access = fc.record({
      space: fc.constantFrom('config', 'legacy', 'msix', 'modern'),
      offset: fc.integer({ min: 0, max: 0x3fff }),
      size: fc.constantFrom<1 | 2 | 4>(1, 2, 4),
      write: fc.boolean(),
      value: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(fc.property(fc.array(access, { maxLength: 60 }), (ops) => {
      const mem = new MockGuestMemory(0x10000);
      const pci = new VirtioPci({ id: 'p', device: new VirtioRng({ id: 'rng', entropy: (d) => d.fill(7) }), memory: mem, deliverMsi: () => undefined });
      for (const op of ops) {
        switch (op.space) {
          case 'config': {
            const reg = op.offset & 0xff;
            if (reg + op.size > 256) break;
            if (op.write) pci.configWrite(reg, op.size, op.value); else pci.configRead(reg, op.size);
            break;
          }
          case 'legacy': {
            const o = op.offset & 0x1f;
            if (op.write) pci.legacyIo.write(o, op.size, op.value); else pci.legacyIo.read(o, op.size);
            break;
          }
          case 'msix': {
            const o = op.offset & 0xfff;
            if (op.write) pci.msixMmio.write(o, op.size, op.value); else pci.msixMmio.read(o, op.size);
            break;
          }
          case 'modern':
            if (op.write) pci.modernMmio.write(op.offset, op.size, op.value); else pci.modernMmio.read(op.offset, op.size);
            break;
        }
      }
      expect(pci.deviceStatus).toBeLessThan(256);
    }), { numRuns: 200 });
  });
});
