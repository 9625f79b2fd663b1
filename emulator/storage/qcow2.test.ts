/**
 * qcow2 backend unit and property tests over in-memory files: random sequences of
 * reads, writes, write-zeroes, discards, flushes and reopens against a byte-array model;
 * concurrent writes to one cluster; refcount entry packing; creation layout.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StorageError } from './block-backend.js';
import { MemoryImageFile } from './memory-image-file.js';
import { parseQcow2Header } from './qcow2-header.js';
import { getRefcountEntry, setRefcountEntry } from './qcow2-refcount.js';
import { createQcow2, Qcow2Backend } from './qcow2.js';
import { RawBackend } from './raw.js';

type Op =
  | { kind: 'write'; offset: number; length: number; seed: number }
  | { kind: 'read'; offset: number; length: number }
  | { kind: 'zero'; offset: number; length: number }
  | { kind: 'discard'; offset: number; length: number }
  | { kind: 'flush' }
  | { kind: 'reopen' };

function bytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 131 + (i >> 7)) & 0xff;
  return out;
}

function opArb(size: number): fc.Arbitrary<Op> {
  const range = fc.tuple(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 1, max: 20000 }))
    .map(([offset, length]) => ({ offset, length: Math.min(length, size - offset) }));
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(range, fc.nat(255)).map(([r, seed]): Op => ({ kind: 'write', ...r, seed })) },
    { weight: 3, arbitrary: range.map((r): Op => ({ kind: 'read', ...r })) },
    { weight: 1, arbitrary: range.map((r): Op => ({ kind: 'zero', ...r })) },
    { weight: 1, arbitrary: range.map((r): Op => ({ kind: 'discard', ...r })) },
    { weight: 1, arbitrary: fc.constant<Op>({ kind: 'flush' }) },
    { weight: 1, arbitrary: fc.constant<Op>({ kind: 'reopen' }) },
  );
}

/** Applies the v3 discard rule to the model: whole clusters (and the disk's tail) read zeros. */
function modelDiscard(model: Uint8Array, cs: number, offset: number, length: number): void {
  const first = Math.ceil(offset / cs);
  const end = offset + length;
  const last = end === model.length ? Math.ceil(end / cs) : Math.floor(end / cs);
  if (last > first) model.fill(0, first * cs, Math.min(last * cs, model.length));
}

async function runModel(ops: Op[], cs: number, size: number, withBacking: boolean): Promise<void> {
  const backingBytes = bytes(99, size - 3 * 512); // smaller than the overlay
  const model = new Uint8Array(size);
  if (withBacking) model.set(backingBytes);
  const img = new MemoryImageFile('model.qcow2');
  await createQcow2(img, size, { clusterBytes: cs, refcountBits: cs === 512 ? 64 : 16, backingFile: withBacking ? 'base.raw' : undefined });
  const open = async (file: MemoryImageFile): Promise<Qcow2Backend> => Qcow2Backend.open(file, {
    openBacking: async (name) => {
      expect(name).toBe('base.raw');
      return RawBackend.open(new MemoryImageFile('base.raw', backingBytes, { readOnly: true }));
    },
  });
  let file = img;
  let disk = await open(file);
  for (const op of ops) {
    switch (op.kind) {
      case 'write': {
        const data = bytes(op.seed, op.length);
        await disk.write(op.offset, data);
        model.set(data, op.offset);
        break;
      }
      case 'read': {
        const buf = new Uint8Array(op.length);
        await disk.read(op.offset, buf);
        expect(Buffer.from(buf).equals(Buffer.from(model.subarray(op.offset, op.offset + op.length)))).toBe(true);
        break;
      }
      case 'zero':
        await disk.writeZeroes(op.offset, op.length);
        model.fill(0, op.offset, op.offset + op.length);
        break;
      case 'discard':
        await disk.discard(op.offset, op.length);
        modelDiscard(model, cs, op.offset, op.length);
        break;
      case 'flush':
        await disk.flush();
        break;
      case 'reopen':
        await disk.close();
        file = new MemoryImageFile('model.qcow2', file.bytes());
        disk = await open(file);
        break;
    }
  }
  const all = new Uint8Array(size);
  await disk.read(0, all);
  expect(Buffer.from(all).equals(Buffer.from(model))).toBe(true);
  await disk.close();
}

describe('Qcow2Backend against a byte-array model', () => {
  const size = 256 * 1024 + 1536; // not a whole number of clusters
  it('512-byte clusters, 64-bit refcounts, with a backing file', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb(size), { minLength: 1, maxLength: 30 }),
      (ops) => runModel(ops, 512, size, true)), { numRuns: 25 });
  });
  it('4 KiB clusters, no backing file', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb(size), { minLength: 1, maxLength: 40 }),
      (ops) => runModel(ops, 4096, size, false)), { numRuns: 25 });
  });
});

describe('Qcow2Backend', () => {
  it('serialises concurrent partial writes into one unallocated cluster (single-flight allocation)', async () => {
    const img = new MemoryImageFile('c.qcow2');
    await createQcow2(img, 1 << 20, { clusterBytes: 65536 });
    const disk = await Qcow2Backend.open(img);
    const writes = Array.from({ length: 16 }, (_, i) => disk.write(i * 512 + 65536, bytes(i, 512)));
    await Promise.all(writes);
    const sizeAfter = await img.size();
    const buf = new Uint8Array(8192);
    await disk.read(65536, buf);
    for (let i = 0; i < 16; i++) expect(Buffer.from(buf.subarray(i * 512, i * 512 + 512)).equals(Buffer.from(bytes(i, 512)))).toBe(true);
    // one data cluster and one L2 table were allocated, not sixteen
    expect(sizeAfter).toBe(65536 * 6);
    await disk.close();
  });

  it('keeps concurrent reads and writes consistent while a tiny L2 cache evicts tables', async () => {
    const cs = 512;
    const size = 512 * 1024; // 16 L2 tables of 64 entries; the cache holds 4
    const img = new MemoryImageFile('evict.qcow2');
    await createQcow2(img, size, { clusterBytes: cs });
    const disk = await Qcow2Backend.open(img, { l2CacheBytes: 0 });
    const model = new Uint8Array(size);
    // Stable data in the first half, read concurrently while the second half is written.
    const firstHalf = bytes(1, size / 2);
    await disk.write(0, firstHalf);
    model.set(firstHalf);
    await fc.assert(fc.asyncProperty(fc.array(fc.nat(size / 2 / 1024 - 1), { minLength: 4, maxLength: 24 }), async (slots) => {
      const unique = [...new Set(slots)];
      const jobs: Promise<void>[] = [];
      for (const [i, slot] of unique.entries()) {
        const at = size / 2 + slot * 1024 + (i % 3) * 100;
        const data = bytes(slot + i, 700);
        model.set(data, at);
        jobs.push(disk.write(at, data));
        const readAt = ((slot * 7919) % (size / 2 - 4096));
        jobs.push((async () => {
          const buf = new Uint8Array(4096);
          await disk.read(readAt, buf);
          expect(Buffer.from(buf).equals(Buffer.from(model.subarray(readAt, readAt + 4096)))).toBe(true);
        })());
      }
      await Promise.all(jobs);
      const all = new Uint8Array(size);
      await disk.read(0, all);
      expect(Buffer.from(all).equals(Buffer.from(model))).toBe(true);
    }), { numRuns: 20 });
    await disk.close();
  });

  it('creates the documented layout: header, refcount table, refcount block, L1', async () => {
    const img = new MemoryImageFile('n.qcow2');
    await createQcow2(img, 20 * 2 ** 30);
    const b = img.bytes();
    const meta = parseQcow2Header('n.qcow2', b, b.length);
    expect(meta.header).toMatchObject({
      version: 3, clusterBits: 16, sizeBytes: 20 * 2 ** 30, refcountTableOffset: 65536, refcountTableClusters: 1,
      l1TableOffset: 3 * 65536, l1Size: 40, refcountOrder: 4, incompatibleFeatures: 0n,
    });
    expect(getRefcountEntry(b.subarray(2 * 65536), 4, 3)).toBe(1);
    expect(getRefcountEntry(b.subarray(2 * 65536), 4, 4)).toBe(0);
  });

  it('refuses bad creation arguments with clear errors', async () => {
    const img = new MemoryImageFile('bad.qcow2');
    await expect(createQcow2(img, 1000)).rejects.toThrow(/bad.qcow2: disk size 1000 must be a non-negative multiple of 512/);
    await expect(createQcow2(img, 1 << 20, { clusterBytes: 3000 })).rejects.toThrow(/cluster size 3000/);
    await expect(createQcow2(img, 1 << 20, { refcountBits: 12 })).rejects.toThrow(/refcount width 12/);
  });

  it('is read-only when asked, and refuses writes with a StorageError', async () => {
    const img = new MemoryImageFile('ro.qcow2');
    await createQcow2(img, 1 << 20);
    const disk = await Qcow2Backend.open(img, { readOnly: true });
    await expect(disk.write(0, new Uint8Array(1))).rejects.toBeInstanceOf(StorageError);
    await expect(disk.read(1 << 20, new Uint8Array(1))).rejects.toThrow(/outside the 1048576-byte disk/);
    await disk.close();
  });

  it('names the missing decoder when a compressed cluster is read without one', async () => {
    const img = new MemoryImageFile('z.qcow2');
    await createQcow2(img, 1 << 20, { clusterBytes: 4096 });
    const disk = await Qcow2Backend.open(img);
    await disk.write(0, new Uint8Array(4096).fill(1));
    await disk.close();
    // Turn the first L2 entry into a compressed descriptor pointing at the data cluster.
    const b = img.bytes();
    const view = new DataView(b.buffer);
    const l1 = Number(view.getBigUint64(40));
    const l2 = Number(view.getBigUint64(l1) & 0xffffffffffe00n);
    const host = view.getBigUint64(l2) & 0xffffffffffe00n;
    view.setBigUint64(l2, (1n << 62n) | host);
    const again = await Qcow2Backend.open(new MemoryImageFile('z.qcow2', b), { readOnly: true });
    await expect(again.read(0, new Uint8Array(512))).rejects.toThrow(/compressed clusters but no decompressor/);
  });
});

describe('refcount entry packing', () => {
  it('round-trips every width at every position', () => {
    for (let order = 0; order <= 6; order++) {
      const block = new Uint8Array(512);
      const entries = (512 * 8) >> order;
      const max = order >= 6 ? 2 ** 40 : 2 ** (1 << order) - 1;
      for (let i = 0; i < entries; i++) setRefcountEntry(block, order, i, (i * 7) % (max + 1));
      for (let i = 0; i < entries; i++) expect(getRefcountEntry(block, order, i)).toBe((i * 7) % (max + 1));
    }
  });
  it('packs sub-byte entries least-significant bit first', () => {
    const block = new Uint8Array(4);
    setRefcountEntry(block, 0, 0, 1);
    setRefcountEntry(block, 1, 2, 3);
    expect(block[0]).toBe(0b0011_0001);
  });
});
