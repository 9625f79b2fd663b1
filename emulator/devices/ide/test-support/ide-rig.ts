/**
 * Test rig for the IDE controller: real raw images and ISOs in a temporary folder, a
 * fake guest memory for DMA, a Piix3Ide with recording IRQ lines and bus mastering on,
 * and small "guest driver" helpers that program the task file through port offsets.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { createDisk, openDisk } from '../../../host/open-disk.js';
import type { BlockBackend } from '../../../storage/block-backend.js';
import { FakeIrqLine, inb, outb } from '../../../test-support/fakes.js';
import type { DmaMemory } from '../bus-master.js';
import { ATA_SR_BSY } from '../ide-constants.js';
import { Piix3Ide } from '../piix3-ide.js';

/** Whether xorriso is installed (ISO tests are skipped without it). */
export const HAVE_XORRISO = spawnSync('xorriso', ['-version']).status === 0;

/** A temporary folder removed by `remove`. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `vireo-ide-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic bytes: sector n starts with its number, then a pattern. */
export function diskPattern(sizeBytes: number, seed = 1): Uint8Array {
  const b = new Uint8Array(sizeBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  for (let s = 0; s * 512 < sizeBytes; s++) { b[s * 512] = s & 0xff; b[s * 512 + 1] = (s >> 8) & 0xff; }
  return b;
}

/** Creates a raw image of `sizeBytes` filled with `contents` (or the pattern) and opens it. */
export async function rawDisk(dir: string, name: string, sizeBytes: number,
  opts: { contents?: Uint8Array; readOnly?: boolean } = {}): Promise<{ path: string; backend: BlockBackend }> {
  const path = join(dir, name);
  await createDisk(path, sizeBytes, 'raw');
  writeFileSync(path, opts.contents ?? diskPattern(sizeBytes));
  const backend = await openDisk(path, { format: 'raw', readOnly: opts.readOnly ?? false });
  return { path, backend };
}

/** Builds an ISO with `files` (name -> contents) using xorriso and opens it. */
export async function isoImage(dir: string, name: string, files: Record<string, string | Uint8Array>,
  volumeId = 'VIREO_TEST'): Promise<{ path: string; backend: BlockBackend }> {
  const src = join(dir, `${name}.d`);
  mkdirSync(src, { recursive: true });
  for (const [f, c] of Object.entries(files)) writeFileSync(join(src, f), c);
  const path = join(dir, name);
  const r = spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', volumeId, '-o', path, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`xorriso failed: ${r.stderr}`);
  return { path, backend: await openDisk(path, { format: 'iso' }) };
}

/** SHA-256 of a file. */
export function fileSha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A flat guest memory of `sizeBytes` starting at GPA 0. */
export class FakeMemory implements DmaMemory {
  readonly bytes: Uint8Array;
  constructor(sizeBytes = 1 << 20) { this.bytes = new Uint8Array(sizeBytes); }
  read(gpa: number, dest: Uint8Array): boolean {
    if (gpa < 0 || gpa + dest.length > this.bytes.length) return false;
    dest.set(this.bytes.subarray(gpa, gpa + dest.length));
    return true;
  }
  write(gpa: number, src: Uint8Array): boolean {
    if (gpa < 0 || gpa + src.length > this.bytes.length) return false;
    this.bytes.set(src, gpa);
    return true;
  }
  /** Writes a PRD table at `gpa`: entries of [address, byteCount (0 = 64 KiB)], EOT on the last. */
  prd(gpa: number, entries: ReadonlyArray<readonly [number, number]>): void {
    const v = new DataView(this.bytes.buffer);
    entries.forEach(([addr, count], i) => {
      v.setUint32(gpa + 8 * i, addr, true);
      v.setUint32(gpa + 8 * i + 4, (count & 0xffff) | (i === entries.length - 1 ? 0x8000_0000 : 0), true);
    });
  }
}

/** A controller with recording IRQ lines, fake memory, bus mastering on, BAR4 at `BM_BASE`. */
export interface Rig {
  readonly ide: Piix3Ide;
  readonly irq14: FakeIrqLine;
  readonly irq15: FakeIrqLine;
  readonly mem: FakeMemory;
  readonly logs: string[];
  /** Count of onAsyncCompletion calls. */
  readonly wakes: { n: number };
  /** Where BAR4 was reported (null before it is programmed). */
  readonly bar4: { address: number | null };
}

/** The BAR4 address the rig programs. */
export const BM_BASE = 0xc000;

/** Builds a rig; `enable` programs BAR4 and sets I/O + bus master in Command. */
export function makeRig(enable = true): Rig {
  const irq14 = new FakeIrqLine();
  const irq15 = new FakeIrqLine();
  const mem = new FakeMemory();
  const logs: string[] = [];
  const wakes = { n: 0 };
  const bar4 = { address: null as number | null };
  const ide = new Piix3Ide({
    irqPrimary: irq14, irqSecondary: irq15, memory: mem,
    onBarChange: (bar, _kind, address) => { if (bar === 4) bar4.address = address; },
    onAsyncCompletion: () => { wakes.n++; },
    log: (m) => logs.push(m),
  });
  if (enable) {
    ide.configWrite(0x20, 4, BM_BASE);
    ide.configWrite(0x04, 2, 0x0005);
  }
  return { ide, irq14, irq15, mem, logs, wakes, bar4 };
}

/** Guest-driver helpers on one channel of a rig. */
export class Driver {
  constructor(readonly rig: Rig, readonly channel: 0 | 1 = 0) {}
  get io() { return this.channel === 0 ? this.rig.ide.primaryIo : this.rig.ide.secondaryIo; }
  get ctl() { return this.channel === 0 ? this.rig.ide.primaryCtl : this.rig.ide.secondaryCtl; }
  get irq(): FakeIrqLine { return this.channel === 0 ? this.rig.irq14 : this.rig.irq15; }
  in(reg: number): number { return inb(this.io, reg); }
  out(reg: number, v: number): void { outb(this.io, reg, v); }
  alt(): number { return inb(this.ctl, 0); }
  devctl(v: number): void { outb(this.ctl, 0, v); }
  /** Selects device `unit` (with LBA set). */
  select(unit: 0 | 1, extra = 0x40): void { this.out(6, 0xa0 | extra | (unit << 4)); }
  /** Waits (without timing assertions) until BSY clears; returns the alternate status. */
  async notBusy(): Promise<number> {
    await vi.waitFor(() => { if (this.alt() & ATA_SR_BSY) throw new Error('busy'); }, { timeout: 10_000, interval: 1 });
    return this.alt();
  }
  /** Reads `bytes` bytes from the Data register in words. */
  readWords(bytes: number): Uint8Array {
    const out = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 2) {
      const w = this.io.read(0, 2);
      out[i] = w & 0xff;
      if (i + 1 < bytes) out[i + 1] = w >> 8;
    }
    return out;
  }
  /** Writes bytes to the Data register in words. */
  writeWords(data: Uint8Array): void {
    for (let i = 0; i < data.length; i += 2) this.io.write(0, 2, data[i]! | ((data[i + 1] ?? 0) << 8));
  }
  /** Programs a 28-bit LBA command. */
  lba28(unit: 0 | 1, lba: number, count: number, cmd: number): void {
    this.out(6, 0xe0 | (unit << 4) | ((lba >>> 24) & 0x0f));
    this.out(2, count & 0xff);
    this.out(3, lba & 0xff);
    this.out(4, (lba >>> 8) & 0xff);
    this.out(5, (lba >>> 16) & 0xff);
    this.out(7, cmd);
  }
  /** Programs a 48-bit LBA command. */
  lba48(unit: 0 | 1, lba: number, count: number, cmd: number): void {
    this.out(6, 0x40 | (unit << 4));
    const hi = Math.floor(lba / 0x100_0000);
    this.out(2, (count >>> 8) & 0xff); this.out(2, count & 0xff);
    this.out(3, hi & 0xff); this.out(3, lba & 0xff);
    this.out(4, (hi >>> 8) & 0xff); this.out(4, (lba >>> 8) & 0xff);
    this.out(5, (hi >>> 16) & 0xff); this.out(5, (lba >>> 16) & 0xff);
    this.out(7, cmd);
  }
  /** Sends a PACKET command with `cdb`, byte count limit `bcl`, DMA when `dma`. */
  async packet(unit: 0 | 1, cdb: number[], bcl = 0xfffe, dma = false): Promise<void> {
    this.select(unit, 0);
    this.out(1, dma ? 1 : 0);
    this.out(4, bcl & 0xff);
    this.out(5, bcl >> 8);
    this.out(7, 0xa0);
    await this.notBusy();
    const c = new Uint8Array(12);
    c.set(cdb);
    this.writeWords(c);
  }
  /** Runs a PIO data-in packet command and collects every DRQ block; returns data and final status. */
  async packetIn(unit: 0 | 1, cdb: number[], bcl = 0xfffe): Promise<{ data: Uint8Array; status: number; blocks: number[] }> {
    await this.packet(unit, cdb, bcl);
    const parts: Uint8Array[] = [];
    const blocks: number[] = [];
    for (;;) {
      const st = await this.notBusy();
      if (!(st & 0x08)) { this.in(7); return { data: concat(parts), status: st, blocks }; }
      const n = this.in(4) | (this.in(5) << 8);
      blocks.push(n);
      this.in(7);
      parts.push(this.readWords(n));
    }
  }
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
