import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MockDriverQueue, MockGuestMemory } from './test-support/mock-driver.js';
import {
  parseQueueState, Virtqueue, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
} from './virtqueue.js';

function rig(size = 8, opts: { eventIdx?: boolean; indirect?: boolean } = {}) {
  const mem = new MockGuestMemory(0x40000);
  const drv = new MockDriverQueue(mem, size, 0x1000);
  const errors: string[] = [];
  const q = new Virtqueue({ maxSize: 256, onError: (m) => errors.push(m) });
  drv.attach(q, opts);
  return { mem, drv, q, errors };
}

describe('Virtqueue (split, virtio 1.2 §2.7)', () => {
  it('pops a chain, reads and writes through it, and fills the used ring', () => {
    const { mem, drv, q, errors } = rig();
    const posted = drv.post([{ data: Uint8Array.of(1, 2, 3) }, { data: Uint8Array.of(4) }, { writeLen: 4 }]);
    const c = q.pop(mem)!;
    expect(c.head).toBe(posted.head);
    expect(c.readableBytes).toBe(4);
    expect(c.writableBytes).toBe(4);
    expect([...c.readAll(mem)!]).toEqual([1, 2, 3, 4]);
    expect(c.write(mem, 1, Uint8Array.of(9, 9))).toBe(true);
    expect(c.write(mem, 3, Uint8Array.of(9, 9))).toBe(false); // beyond the writable bytes
    expect(q.addUsed(mem, c.head, 3)).toBe(true);
    expect(drv.takeUsed()).toEqual([{ id: posted.head, len: 3 }]);
    expect([...drv.read(posted.gpas[2]!, 4)]).toEqual([0, 9, 9, 0]);
    expect(q.pop(mem)).toBeNull();
    expect(errors).toEqual([]);
  });

  it('follows indirect tables, including after direct descriptors', () => {
    const { mem, drv, q, errors } = rig(8, { indirect: true });
    drv.post([{ data: Uint8Array.of(7) }, { writeLen: 2 }], { indirect: true });
    const c = q.pop(mem)!;
    expect([...c.readAll(mem)!]).toEqual([7]);
    expect(c.writableBytes).toBe(2);
    // direct readable descriptor 3 -> indirect descriptor 4 (table of one writable buffer)
    const table = drv.alloc(16);
    drv.writeDesc(0, { addr: 0x9000, len: 8, flags: VIRTQ_DESC_F_WRITE, next: 0 }, table);
    drv.writeDesc(3, { addr: 0x8000, len: 2, flags: VIRTQ_DESC_F_NEXT, next: 4 });
    drv.writeDesc(4, { addr: table, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
    drv.publish(3);
    const c2 = q.pop(mem)!;
    expect(c2.readable).toEqual([{ gpa: 0x8000, len: 2 }]);
    expect(c2.writable).toEqual([{ gpa: 0x9000, len: 8 }]);
    expect(errors).toEqual([]);
  });

  it('rejects indirect descriptors unless negotiated, and nested ones', () => {
    const a = rig(8, { indirect: false });
    a.drv.post([{ data: Uint8Array.of(1) }], { indirect: true });
    expect(a.q.pop(a.mem)).toBeNull();
    expect(a.errors[0]).toMatch(/INDIRECT_DESC/);
    const b = rig(8, { indirect: true });
    const inner = b.drv.alloc(16);
    const outer = b.drv.alloc(16);
    b.drv.writeDesc(0, { addr: inner, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 }, outer);
    b.drv.writeDesc(0, { addr: outer, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
    b.drv.publish(0);
    expect(b.q.pop(b.mem)).toBeNull();
    expect(b.errors[0]).toMatch(/nested/);
    expect(b.q.broken).not.toBeNull();
  });

  it('detects loops, bad heads, runaway avail.idx, bad order and out-of-range addresses', () => {
    const cases: Array<(d: MockDriverQueue) => void> = [
      (d) => { d.writeDesc(0, { addr: 0x8000, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 1 }); d.writeDesc(1, { addr: 0x8000, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 0 }); d.publish(0); },
      (d) => d.publish(200),
      (d) => d.setAvailIdx(50),
      (d) => { d.writeDesc(0, { addr: 0x8000, len: 1, flags: VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, next: 1 }); d.writeDesc(1, { addr: 0x8000, len: 1, flags: 0, next: 0 }); d.publish(0); },
      (d) => { d.writeDesc(0, { addr: 2 ** 53, len: 1, flags: 0, next: 0 }); d.publish(0); },
      (d) => { d.writeDesc(0, { addr: 0x8000, len: 0xffffffff, flags: 0, next: 0 }); d.publish(0); },
      (d) => { d.writeDesc(0, { addr: 0x8000, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 9 }); d.publish(0); },
    ];
    for (const make of cases) {
      const { mem, drv, q, errors } = rig();
      make(drv);
      expect(q.pop(mem)).toBeNull();
      expect(errors).toHaveLength(1);
      expect(q.pop(mem)).toBeNull(); // stays stopped, reports once
      expect(errors).toHaveLength(1);
    }
  });

  it('a chain whose buffer lies outside RAM pops, then fails on access', () => {
    const { mem, drv, q } = rig();
    drv.writeDesc(0, { addr: 0x10_0000_0000, len: 16, flags: 0, next: 0 });
    drv.publish(0);
    const c = q.pop(mem)!;
    expect(c.readAll(mem)).toBeNull();
  });

  it('suppresses interrupts with NO_INTERRUPT, and with EVENT_IDX per used_event', () => {
    const a = rig();
    a.drv.post([{ writeLen: 1 }]);
    a.q.addUsed(a.mem, a.q.pop(a.mem)!.head, 0);
    expect(a.q.needsNotification(a.mem)).toBe(true);
    a.drv.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    a.drv.post([{ writeLen: 1 }]);
    a.q.addUsed(a.mem, a.q.pop(a.mem)!.head, 0);
    expect(a.q.needsNotification(a.mem)).toBe(false);

    const b = rig(8, { eventIdx: true });
    for (let i = 0; i < 3; i++) b.drv.post([{ writeLen: 1 }]);
    b.drv.setUsedEvent(1); // interrupt when used.idx passes 1 -> 2
    b.q.addUsed(b.mem, b.q.pop(b.mem)!.head, 0);
    expect(b.q.needsNotification(b.mem)).toBe(true); // first call always signals
    expect(b.drv.availEvent).toBe(1);
    b.q.addUsed(b.mem, b.q.pop(b.mem)!.head, 0); // used.idx 2: crosses used_event 1
    expect(b.q.needsNotification(b.mem)).toBe(true);
    b.q.addUsed(b.mem, b.q.pop(b.mem)!.head, 0); // used.idx 3: used_event still 1
    expect(b.q.needsNotification(b.mem)).toBe(false);
    expect(b.drv.availEvent).toBe(3);
  });

  it('lays out legacy rings from a PFN (§2.7.2)', () => {
    const q = new Virtqueue({ maxSize: 256 });
    q.setLegacyPfn(5);
    expect(q.descGpa).toBe(0x5000);
    expect(q.availGpa).toBe(0x5000 + 16 * 256);
    expect(q.usedGpa).toBe(0x7000);
    expect(q.legacyPfn).toBe(5);
  });

  it('round-trips state and rejects bad state', () => {
    const { mem, drv, q } = rig();
    drv.post([{ writeLen: 1 }]);
    q.addUsed(mem, q.pop(mem)!.head, 1);
    const s = JSON.parse(JSON.stringify(q.saveState())) as unknown;
    const st = parseQueueState('q', s, 256);
    const q2 = new Virtqueue({ maxSize: 256 });
    q2.applyState(st);
    expect(q2.saveState()).toEqual(q.saveState());
    expect(() => parseQueueState('q', { ...st, size: 12 }, 256)).toThrow(/power of two/);
    expect(() => parseQueueState('q', { ...st, descGpa: 0x1001 }, 256)).toThrow(/aligned/);
    expect(() => parseQueueState('q', { ...st, v: 2 }, 256)).toThrow(/version/);
    expect(() => parseQueueState('q', null, 256)).toThrow();
  });

  it('fuzz: random descriptor tables and avail rings never throw or hang', () => {
    const desc = fc.record({
      addr: fc.oneof(fc.integer({ min: 0, max: 0x40000 }), fc.constantFrom(0, 2 ** 40, 2 ** 52, 0x3fff0)),
      len: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0xffffffff, 0x8000_0000, 16, 32)),
      flags: fc.integer({ min: 0, max: 7 }),
      next: fc.integer({ min: 0, max: 20 }),
    });
    fc.assert(fc.property(
      fc.array(desc, { minLength: 8, maxLength: 8 }),
      fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 12 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.boolean(), fc.boolean(),
      (descs, heads, availIdx, indirect, eventIdx) => {
        const { mem, drv, q } = rig(8, { indirect, eventIdx });
        descs.forEach((d, i) => drv.writeDesc(i, d));
        // some indirect tables point at the ring itself: reuse the descriptor table
        for (const h of heads) drv.publish(h);
        if (availIdx % 3 === 0) drv.setAvailIdx(availIdx);
        let popped = 0;
        for (let i = 0; i < 40; i++) {
          const c = q.pop(mem);
          if (c === null) break;
          popped++;
          expect(c.readableBytes + c.writableBytes).toBeLessThanOrEqual(q.maxChainBytes);
          if (c.readableBytes <= 4096) c.readAll(mem);
          q.addUsed(mem, c.head, 0);
          q.needsNotification(mem);
        }
        expect(popped).toBeLessThanOrEqual(16);
      }), { numRuns: 300 });
  });
});
