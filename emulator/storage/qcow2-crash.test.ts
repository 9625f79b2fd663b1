/**
 * Crash safety of qcow2 metadata ordering (see the header of qcow2.ts).
 *
 * A workload runs against a file that records every write and sync. A crash after
 * operation N is then simulated two ways:
 *  - "prefix": every write before N reached the disk, none after (writes dropped after
 *    the Nth);
 *  - "reordered": everything up to the last sync before N reached the disk, plus a
 *    pseudo-random subset of the unsynced writes after it (a disk cache reorders freely
 *    between flushes).
 * `qemu-img check` must report no corruption (leaked clusters are allowed), and Vireo must
 * still open and read the image.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inflateRawZlib } from '../host/zlib-inflate.js';
import type { ImageFile } from './image-file.js';
import { MemoryImageFile } from './memory-image-file.js';
import { createQcow2, Qcow2Backend } from './qcow2.js';
import { HAVE_QEMU_IMG, makeTempDir, pattern, qemuCheck, qemuImgOk } from './test-support/qemu-img.js';

const tmp = makeTempDir('qcow2-crash');
afterAll(() => tmp.remove());

type Op = { kind: 'write'; pos: number; data: Uint8Array } | { kind: 'truncate'; size: number } | { kind: 'sync' };

/** An ImageFile that records writes, truncates and syncs in order. */
class RecordingFile implements ImageFile {
  readonly path = 'recording.qcow2';
  readonly readOnly = false;
  readonly ops: Op[] = [];
  constructor(private readonly inner: MemoryImageFile) {}
  read(pos: number, buf: Uint8Array): Promise<number> { return this.inner.read(pos, buf); }
  async write(pos: number, data: Uint8Array): Promise<void> {
    this.ops.push({ kind: 'write', pos, data: data.slice() });
    await this.inner.write(pos, data);
  }
  size(): Promise<number> { return this.inner.size(); }
  async truncate(size: number): Promise<void> {
    this.ops.push({ kind: 'truncate', size });
    await this.inner.truncate(size);
  }
  async sync(): Promise<void> {
    this.ops.push({ kind: 'sync' });
    await this.inner.sync();
  }
  close(): Promise<void> { return this.inner.close(); }
}

/** The file contents after a crash following `n` operations (see the file header). */
async function crashImage(initial: Uint8Array, ops: Op[], n: number, reordered: boolean): Promise<Uint8Array> {
  const f = new MemoryImageFile('crash', initial);
  let lastSync = -1;
  if (reordered) for (let i = 0; i < n; i++) if (ops[i]!.kind === 'sync') lastSync = i;
  let rng = (n * 2654435761) >>> 0 || 7;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    if (reordered && i > lastSync) {
      rng ^= rng << 13; rng >>>= 0; rng ^= rng >>> 17; rng ^= rng << 5; rng >>>= 0;
      if (rng & 1) continue;
    }
    if (op.kind === 'write') await f.write(op.pos, op.data);
    else if (op.kind === 'truncate') await f.truncate(op.size);
  }
  return f.bytes();
}

/**
 * Crash points: evenly spaced; just before evenly chosen syncs (the longest windows of
 * unsynced writes); and every operation around a refcount table switch.
 */
function crashPoints(ops: Op[], count: number): number[] {
  const points = new Set<number>();
  for (let i = 0; i <= count; i++) points.add(Math.round((i * ops.length) / count));
  const syncs = ops.flatMap((op, i) => (op.kind === 'sync' ? [i] : []));
  for (let i = 0; i < count && syncs.length > 0; i++) points.add(syncs[Math.floor((i * syncs.length) / count)]!);
  ops.forEach((op, i) => {
    if (op.kind === 'write' && op.pos === 48) for (let d = -3; d <= 3; d++) points.add(Math.max(0, Math.min(ops.length, i + d)));
  });
  return [...points].sort((a, b) => a - b);
}

async function checkCrashes(name: string, initial: Uint8Array, ops: Op[], count: number): Promise<number> {
  let checked = 0;
  for (const n of crashPoints(ops, count)) {
    for (const reordered of [false, true]) {
      const bytes = await crashImage(initial, ops, n, reordered);
      const path = join(tmp.dir, `${name}-${n}-${reordered ? 'r' : 'p'}.qcow2`);
      writeFileSync(path, bytes);
      const report = qemuCheck(path);
      expect({ n, reordered, corruptions: report.corruptions, checkErrors: report.checkErrors, ok: report.status === 0 || report.status === 3 },
        report.raw).toEqual({ n, reordered, corruptions: 0, checkErrors: 0, ok: true });
      const disk = await Qcow2Backend.open(new MemoryImageFile(path, bytes), { readOnly: true, inflateRaw: inflateRawZlib });
      await disk.read(0, new Uint8Array(disk.sizeBytes));
      checked++;
    }
  }
  return checked;
}

describe.skipIf(!HAVE_QEMU_IMG)('qcow2 crash safety', () => {
  it('survives a crash at any point while allocating clusters, refcount blocks and a new refcount table', async () => {
    const base = new MemoryImageFile('base.qcow2');
    await createQcow2(base, 4 << 20, { clusterBytes: 512, refcountBits: 64 });
    const initial = base.bytes();
    const rec = new RecordingFile(new MemoryImageFile('w', initial));
    const disk = await Qcow2Backend.open(rec);
    for (let i = 0; i < 60; i++) {
      await disk.write(((i * 37) % 60) * 68000 + (i % 3) * 100, pattern(i, 20000 + ((i * 7919) % 47000)));
      if (i % 10 === 9) await disk.flush();
    }
    await disk.writeZeroes(100000, 20000);
    await disk.discard(300000, 5000);
    await disk.close();
    expect(rec.ops.some((op) => op.kind === 'write' && op.pos === 48)).toBe(true); // the table moved
    const checked = await checkCrashes('alloc', initial, rec.ops, 40);
    expect(checked).toBeGreaterThan(120);
  });

  it('survives a crash at any point while replacing compressed clusters (refcount decrements)', async () => {
    const raw = join(tmp.dir, 'comp.raw');
    const img = join(tmp.dir, 'comp.qcow2');
    const src = new Uint8Array(512 << 10);
    for (let i = 0; i < src.length; i++) src[i] = (i >> 10) & 0xff;
    writeFileSync(raw, src);
    qemuImgOk('convert', '-c', '-f', 'raw', '-O', 'qcow2', '-o', 'cluster_size=4096', raw, img);
    const initial = new Uint8Array(readFileSync(img));
    const rec = new RecordingFile(new MemoryImageFile('w', initial));
    const disk = await Qcow2Backend.open(rec, { inflateRaw: inflateRawZlib });
    for (let i = 0; i < 12; i++) await disk.write(i * 40000 + 100, pattern(i, 3000));
    await disk.writeZeroes(8192 * 20, 8192 * 4);
    await disk.close();
    const checked = await checkCrashes('comp', initial, rec.ops, 25);
    expect(checked).toBeGreaterThan(80);
  });
});
