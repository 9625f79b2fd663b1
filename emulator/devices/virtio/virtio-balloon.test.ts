import { describe, expect, it } from 'vitest';
import { bringUp } from './test-support/pci-driver.js';
import { VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT, VirtioBalloon } from './virtio-balloon.js';

const pfnList = (pfns: number[]): Uint8Array => {
  const b = new Uint8Array(4 * pfns.length);
  pfns.forEach((p, i) => new DataView(b.buffer).setUint32(4 * i, p, true));
  return b;
};

describe('VirtioBalloon (virtio 1.2 §5.5)', () => {
  it('inflates and deflates by PFN, reports target and actual, keeps state', () => {
    const inflated: number[][] = [];
    const bal = new VirtioBalloon({ id: 'bal', ramBytes: 64 << 20, onInflate: (p) => inflated.push([...p]) });
    const r = bringUp(bal, { msix: true });
    bal.setTargetPages(3);
    expect(bal.readConfig(0, 4)).toBe(3);
    expect(r.msis.at(-1)!.data).toBe(0x43); // config vector (4 vectors: 3 queues + config)
    r.queues[0]!.post([{ data: pfnList([0x100, 0x101, 0x102]) }]);
    r.notify(0);
    expect(r.queues[0]!.takeUsed()).toHaveLength(1);
    expect(bal.balloonPages).toBe(3);
    expect(inflated).toEqual([[0x100, 0x101, 0x102]]);
    bal.writeConfig(4, 4, 3); // driver reports actual
    expect(bal.actualPages).toBe(3);
    const st = JSON.parse(JSON.stringify(bal.saveState())) as unknown;
    expect(st).toEqual({ v: 1, numPages: 3, actual: 3, pages: [[0x100, 3]] });
    r.queues[1]!.post([{ data: pfnList([0x101, 0x999999]) }]);
    r.notify(1);
    expect(bal.balloonPages).toBe(2);
    expect(bal.guestErrors).toBe(1); // PFN beyond 64 MiB
    const copy = new VirtioBalloon({ id: 'bal', ramBytes: 64 << 20 });
    copy.loadState(st);
    expect(copy.balloonPages).toBe(3);
    expect(() => copy.loadState({ v: 1, numPages: 0, actual: 0, pages: [[0xffff0, 100]] })).toThrow(/beyond/);
  });

  it('holds the statistics buffer and returns it on request', () => {
    const seen: Array<ReadonlyMap<number, bigint>> = [];
    const bal = new VirtioBalloon({ id: 'bal', ramBytes: 1 << 20, onStats: (s) => seen.push(s) });
    const r = bringUp(bal);
    const stats = (free: number): Uint8Array => {
      const b = new Uint8Array(20);
      const dv = new DataView(b.buffer);
      dv.setUint16(0, VIRTIO_BALLOON_S_MEMFREE, true); dv.setBigUint64(2, BigInt(free), true);
      dv.setUint16(10, VIRTIO_BALLOON_S_MEMTOT, true); dv.setBigUint64(12, 1n << 20n, true);
      return b;
    };
    const q = r.queues[2]!;
    const first = q.post([{ data: stats(1000) }]);
    r.notify(2);
    expect(q.usedIdx).toBe(0); // held
    expect(bal.stats.get(VIRTIO_BALLOON_S_MEMFREE)).toBe(1000n);
    expect(bal.requestStats()).toBe(true);
    expect(q.takeUsed()).toEqual([{ id: first.head, len: 0 }]);
    expect(bal.requestStats()).toBe(false);
    q.post([{ data: stats(900) }]);
    r.notify(2);
    expect(seen.map((s) => s.get(VIRTIO_BALLOON_S_MEMFREE))).toEqual([1000n, 900n]);
  });
});
