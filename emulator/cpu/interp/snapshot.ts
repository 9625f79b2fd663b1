/**
 * The versioned snapshot format of the interpreter CPU and its validation.
 *
 * Follows ARCHITECTURE principle 5: named fields, a version number, and `loadState`
 * validating untrusted input completely before any live object is touched. The snapshot
 * holds architectural state only (registers, descriptor caches, control/debug registers,
 * MSRs, pending-event latches); the TLB and decode state are rebuilt.
 */

/** One segment register (selector + descriptor cache). */
export interface SegmentSnapshot {
  sel: number;
  base: number;
  limit: number;
  attr: number;
}

/** CPU state, version 1. */
export interface InterpCpuSnapshot {
  v: 1;
  /** EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI (uint32). */
  gpr: number[];
  eip: number;
  eflags: number;
  /** ES, CS, SS, DS, FS, GS, LDTR, TR. */
  segs: SegmentSnapshot[];
  gdt: { base: number; limit: number };
  idt: { base: number; limit: number };
  cr0: number; cr2: number; cr3: number; cr4: number; efer: number;
  dr: number[];
  cpl: number;
  a20: boolean;
  halted: boolean;
  irqInhibit: boolean;
  nmiPending: boolean;
  nmiBlocked: boolean;
  /** Current TSC value. */
  tsc: number;
  sysenter: { cs: number; esp: number; eip: number };
  /** Storage-only MSRs as [index, low, high]. */
  msrs: Array<[number, number, number]>;
  /** Snapshot of the x87/SIMD units (opaque to the core), if any. */
  coprocessor?: unknown;
}

function fail(what: string): never {
  throw new Error(`InterpCpu.loadState: invalid snapshot: ${what}`);
}

function u32(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) fail(`${what} must be a 32-bit integer`);
  return v >>> 0;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') fail(`${what} must be a boolean`);
  return v;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function arr(v: unknown, len: number | undefined, what: string): unknown[] {
  if (!Array.isArray(v) || (len !== undefined && v.length !== len)) fail(`${what} must be an array${len !== undefined ? ` of ${len}` : ''}`);
  return v;
}

/** Validates untrusted data as an `InterpCpuSnapshot` (throws with a description otherwise). */
export function parseCpuSnapshot(data: unknown): InterpCpuSnapshot {
  const o = obj(data, 'snapshot');
  if (o.v !== 1) fail(`unsupported version ${String(o.v)}`);
  const gpr = arr(o.gpr, 8, 'gpr').map((x, i) => u32(x, `gpr[${i}]`));
  const segs = arr(o.segs, 8, 'segs').map((x, i) => {
    const s = obj(x, `segs[${i}]`);
    const sel = u32(s.sel, `segs[${i}].sel`);
    if (sel > 0xffff) fail(`segs[${i}].sel out of range`);
    return { sel, base: u32(s.base, `segs[${i}].base`), limit: u32(s.limit, `segs[${i}].limit`), attr: u32(s.attr, `segs[${i}].attr`) & 0xf0ff };
  });
  const gdt = obj(o.gdt, 'gdt'), idt = obj(o.idt, 'idt'), se = obj(o.sysenter, 'sysenter');
  const cpl = u32(o.cpl, 'cpl');
  if (cpl > 3) fail('cpl out of range');
  const tsc = o.tsc;
  if (typeof tsc !== 'number' || !Number.isFinite(tsc) || tsc < 0) fail('tsc must be a non-negative number');
  const msrs = arr(o.msrs, undefined, 'msrs').map((m, i) => {
    const t = arr(m, 3, `msrs[${i}]`);
    return [u32(t[0], `msrs[${i}][0]`), u32(t[1], `msrs[${i}][1]`), u32(t[2], `msrs[${i}][2]`)] as [number, number, number];
  });
  return {
    v: 1, gpr, eip: u32(o.eip, 'eip'), eflags: u32(o.eflags, 'eflags'), segs,
    gdt: { base: u32(gdt.base, 'gdt.base'), limit: u32(gdt.limit, 'gdt.limit') & 0xffff },
    idt: { base: u32(idt.base, 'idt.base'), limit: u32(idt.limit, 'idt.limit') & 0xffff },
    cr0: u32(o.cr0, 'cr0'), cr2: u32(o.cr2, 'cr2'), cr3: u32(o.cr3, 'cr3'), cr4: u32(o.cr4, 'cr4'), efer: u32(o.efer, 'efer'),
    dr: arr(o.dr, 8, 'dr').map((x, i) => u32(x, `dr[${i}]`)),
    cpl, a20: bool(o.a20, 'a20'), halted: bool(o.halted, 'halted'), irqInhibit: bool(o.irqInhibit, 'irqInhibit'),
    nmiPending: bool(o.nmiPending, 'nmiPending'), nmiBlocked: bool(o.nmiBlocked, 'nmiBlocked'), tsc,
    sysenter: { cs: u32(se.cs, 'sysenter.cs') & 0xffff, esp: u32(se.esp, 'sysenter.esp'), eip: u32(se.eip, 'sysenter.eip') },
    msrs, coprocessor: o.coprocessor,
  };
}
