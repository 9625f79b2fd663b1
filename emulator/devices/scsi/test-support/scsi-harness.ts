/**
 * Test helpers for the SCSI target: CDB builders, in-memory backends and a runner that
 * returns status, data and the parsed sense triple.
 */
import type { BlockBackend } from '../../../storage/block-backend.js';
import { MemoryImageFile } from '../../../storage/memory-image-file.js';
import { RawBackend } from '../../../storage/raw.js';
import { putBe } from '../scsi-cdb.js';
import type { ScsiLogicalUnit } from '../scsi-logical-unit.js';
import { parseFixedSense } from '../scsi-sense.js';

/** A command's outcome as a test sees it. */
export interface Outcome {
  readonly status: number;
  readonly data: Uint8Array;
  /** [key, asc, ascq] of the sense data, or null. */
  readonly sense: [number, number, number] | null;
}

/** Runs `cdb` (numbers, zero-padded to 16 bytes) on `unit`. */
export async function run(unit: ScsiLogicalUnit, cdb: readonly number[], dataOut: Uint8Array = new Uint8Array(0)): Promise<Outcome> {
  const c = new Uint8Array(Math.max(16, cdb.length));
  c.set(cdb);
  const r = await unit.execute(c, dataOut);
  const s = r.sense ? parseFixedSense(r.sense) : null;
  return { status: r.status, data: r.data, sense: s ? [s.key, s.asc, s.ascq] : null };
}

/** Clears the power-on unit attention with a TEST UNIT READY. */
export async function clearAttention(unit: ScsiLogicalUnit): Promise<void> {
  await run(unit, [0x00]);
}

/** READ/WRITE(10)-style CDB: opcode, LBA (32-bit) at 2, length (16-bit) at 7. */
export function cdb10(op: number, lba: number, count: number, flags = 0): number[] {
  const b = new Uint8Array(10);
  b[0] = op; b[1] = flags;
  putBe(b, 2, 4, lba);
  putBe(b, 7, 2, count);
  return [...b];
}

/** 16-byte CDB: opcode, LBA (64-bit) at 2, length (32-bit) at 10. */
export function cdb16(op: number, lba: number, count: number, flags = 0): number[] {
  const b = new Uint8Array(16);
  b[0] = op; b[1] = flags;
  putBe(b, 2, 8, lba);
  putBe(b, 10, 4, count);
  return [...b];
}

/** 12-byte CDB: opcode, LBA at 2, length (32-bit) at 6. */
export function cdb12(op: number, lba: number, count: number): number[] {
  const b = new Uint8Array(12);
  b[0] = op;
  putBe(b, 2, 4, lba);
  putBe(b, 6, 4, count);
  return [...b];
}

/** A raw backend over `bytes` of memory (a fresh file), optionally read-only. */
export async function memoryBackend(bytes: number | Uint8Array, readOnly = false): Promise<{ backend: RawBackend; file: MemoryImageFile }> {
  const file = new MemoryImageFile('mem', typeof bytes === 'number' ? new Uint8Array(bytes) : bytes);
  return { backend: await RawBackend.open(file, { readOnly }), file };
}

/** A deterministic byte pattern. */
export function pattern(len: number, seed = 1): Uint8Array {
  return new Uint8Array(len).map((_, i) => (i * 31 + seed * 7 + (i >> 9)) & 0xff);
}

/** A backend whose reads and writes wait for `release()`, or fail with `fail()`. */
export class GatedBackend implements BlockBackend {
  readonly format = 'raw' as const;
  readonly path = 'gated';
  readonly readOnly = false;
  private waiters: Array<{ go: () => void; stop: (e: unknown) => void }> = [];

  constructor(readonly sizeBytes: number) {}

  /** Number of requests waiting. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Completes every waiting request. */
  release(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.go();
  }

  /** Fails every waiting request. */
  fail(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.stop(new Error('gated: I/O error'));
  }

  read(_offset: number, buffer: Uint8Array): Promise<void> {
    return new Promise((go, stop) => this.waiters.push({ go: () => { buffer.fill(0x5a); go(); }, stop }));
  }

  write(): Promise<void> {
    return new Promise((go, stop) => this.waiters.push({ go, stop }));
  }

  flush(): Promise<void> { return Promise.resolve(); }
  discard(): Promise<void> { return Promise.resolve(); }
  close(): Promise<void> { return Promise.resolve(); }
}
