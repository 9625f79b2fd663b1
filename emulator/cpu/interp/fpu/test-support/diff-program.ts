/**
 * Builds differential-test programs: an input blob (placed at DATA_BASE), a block of nasm
 * instructions using absolute addresses only, and a list of named outputs (at OUT_BASE) with
 * how each is compared. `runDiff` executes the block on QEMU and on the units and returns the
 * mismatches as readable lines.
 */
import { FakeHost } from '../fake-host.js';
import { createX87State } from '../x87-state.js';
import { createSimdState } from '../../simd/simd-state.js';
import { assembleBlock, DATA_BASE, OUT_BASE, replay, runOnQemu } from './qemu-oracle.js';

/** How an output is compared. */
export type Compare =
  | { kind: 'exact' }
  | { kind: 'mask32'; mask: number }
  | { kind: 'mask16'; mask: number }
  | { kind: 'approx64'; relTol: number }
  /** An FSTENV/FSAVE 32-bit image: low 16 bits of CW/SW/TW, pointers skipped, registers exact. */
  | { kind: 'env32'; tag?: boolean };

interface Output {
  label: string;
  addr: number;
  size: number;
  cmp: Compare;
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A program under construction. */
export class DiffProgram {
  private readonly data = new Uint8Array(0x20000);
  private readonly dv = new DataView(this.data.buffer);
  private dataLen = 0;
  private outLen = 0;
  readonly lines: string[] = [];
  readonly outputs: Output[] = [];

  private alloc(n: number, align: number): number {
    this.dataLen = (this.dataLen + align - 1) & ~(align - 1);
    const off = this.dataLen;
    this.dataLen += n;
    if (this.dataLen > this.data.length) throw new Error('DiffProgram: input blob full');
    return off;
  }
  /** Places a binary64 and returns its address. */
  f64(v: number): string {
    const o = this.alloc(8, 8);
    this.dv.setFloat64(o, v, true);
    return hex(DATA_BASE + o);
  }
  /** Places raw dwords (little-endian) with the given alignment. */
  dwords(ws: number[], align = 16): string {
    const o = this.alloc(ws.length * 4, align);
    ws.forEach((w, i) => this.dv.setUint32(o + 4 * i, w >>> 0, true));
    return hex(DATA_BASE + o);
  }
  /** Places raw bytes. */
  bytes(bs: number[], align = 16): string {
    const o = this.alloc(bs.length, align);
    bs.forEach((b, i) => (this.data[o + i] = b & 0xff));
    return hex(DATA_BASE + o);
  }
  /** Places a 16-bit word. */
  u16(v: number): string {
    const o = this.alloc(2, 2);
    this.dv.setUint16(o, v, true);
    return hex(DATA_BASE + o);
  }
  /** Reserves an output and returns its address. */
  out(label: string, size: number, cmp: Compare = { kind: 'exact' }): string {
    this.outLen = (this.outLen + 15) & ~15;
    const addr = OUT_BASE + this.outLen;
    this.outLen += size;
    this.outputs.push({ label, addr, size, cmp });
    return hex(addr);
  }
  /** Appends instructions (one per line). */
  asm(...lines: string[]): void {
    for (const l of lines) this.lines.push('  ' + l);
  }
  /** The input blob (copied to DATA_BASE before the block runs). */
  get inputBlob(): Uint8Array {
    return this.data.subarray(0, this.dataLen);
  }
  /** Bytes of OUT_BASE the BIOS dumps (16-byte multiple). */
  get outputLength(): number {
    return (this.outLen + 15) & ~15;
  }
}

function hex(v: number): string {
  return '0x' + v.toString(16);
}

function bytesHex(b: Uint8Array): string {
  return Array.from(b).reverse().map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Runs the program on QEMU and on the units; returns mismatch descriptions (empty = pass) and the count compared. */
export function runDiff(p: DiffProgram, cpu = 'max'): { mismatches: string[]; compared: number } {
  const asm = p.lines.join('\n');
  const expected = runOnQemu(asm, p.inputBlob, p.outputLength, cpu);
  const host = new FakeHost(0x80000);
  host.mem.set(p.inputBlob, DATA_BASE);
  host.eflags = 0x2;
  const x87 = createX87State();
  replay(assembleBlock(asm), x87, createSimdState(x87), host);
  return compareOutputs(p, expected, host.mem.subarray(OUT_BASE, OUT_BASE + p.outputLength));
}

/** Compares two OUT_BASE dumps output by output. */
export function compareOutputs(p: DiffProgram, expected: Uint8Array, actual: Uint8Array): { mismatches: string[]; compared: number } {
  const mismatches: string[] = [];
  for (const o of p.outputs) {
    const e = expected.subarray(o.addr - OUT_BASE, o.addr - OUT_BASE + o.size);
    const a = actual.subarray(o.addr - OUT_BASE, o.addr - OUT_BASE + o.size);
    let ok: boolean;
    const ev = new DataView(e.buffer, e.byteOffset, e.byteLength);
    const av = new DataView(a.buffer, a.byteOffset, a.byteLength);
    switch (o.cmp.kind) {
      case 'exact':
        ok = e.every((b, i) => b === a[i]);
        break;
      case 'mask32':
        ok = ((ev.getUint32(0, true) ^ av.getUint32(0, true)) & o.cmp.mask) === 0;
        break;
      case 'mask16':
        ok = ((ev.getUint16(0, true) ^ av.getUint16(0, true)) & o.cmp.mask) === 0;
        break;
      case 'env32':
        ok = (o.cmp.tag === false ? [0, 4] : [0, 4, 8]).every((k) => ev.getUint16(k, true) === av.getUint16(k, true))
          && e.subarray(28).every((b, i) => b === a[28 + i]);
        break;
      default: {
        const x = ev.getFloat64(0, true);
        const y = av.getFloat64(0, true);
        ok = Object.is(x, y) || Math.abs(x - y) <= o.cmp.relTol * Math.max(Math.abs(x), Math.abs(y));
      }
    }
    if (!ok) mismatches.push(`${o.label}: qemu ${bytesHex(e)} ours ${bytesHex(a)}`);
  }
  return { mismatches, compared: p.outputs.length };
}
