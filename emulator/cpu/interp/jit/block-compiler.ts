/**
 * The block translator: turns the decoded records of one basic block (block-cache.ts,
 * decode-cache.ts) into the source of one JavaScript function, with every operand
 * (register numbers, displacements, immediates, instruction lengths, branch offsets)
 * written in as a literal, and compiles it with `new Function`.
 *
 * The frequent 32-bit forms are written out in the generated code (register moves, ALU
 * ops with their lazy-flag updates, LEA, shifts by an immediate, IMUL, INC/DEC, loads and
 * stores of every width through the TLB fast path, PUSH/POP, Jcc/JMP/CALL/RET); a Jcc
 * after an inline ADD/SUB/CMP/logic/INC/DEC tests that instruction's operands (locals x,
 * y, r) instead of calling `cond()`. Every other record is run by calling the same record
 * handler `burst` calls (exec-cached.ts / exec-fast.ts), with the record's arena index.
 * Only OP_LEGACY records (always the last of a block) are not translated: the block is
 * cut before them.
 *
 * Contract of a compiled block `f(cpu, eip0, s0, page)` (eip0 = EIP of the block's first
 * instruction, s0 = arena index of its first record, page = its backing page; nothing
 * position-dependent is in the source, so equal blocks share one function):
 *   - it runs the block's instructions in order, exactly as `burst` would;
 *   - it returns -1 after it left the block (a taken jump, an unconditional transfer, the
 *     last record, or an exit check that fired: `attention` raised, a store into the
 *     block's own code page, the fetch TLB entry replaced); `cpu.eip` is the next EIP;
 *   - it returns k >= 0 when it stopped before record k, an OP_LEGACY record, which the
 *     caller runs (`burst` looks it up as a block of its own); `cpu.eip` is its EIP;
 *   - `instructionsRetired` is incremented by the instructions it completed;
 *   - when an instruction faults, it sets `instrStart` (that instruction's EIP),
 *     `espStart` (ESP, which no handler changes before its last fault) and the retired
 *     count of the instructions before it, and rethrows (run() delivers the fault).
 * The caller must only enter when all its instructions fit before the run's target.
 */
import {
  DC_DISP, DC_IMM, DC_LEN, DC_OP, DC_OPS, DC_STRIDE, F_A16, F_MEM, F_O32, NO_REG, OP_LEGACY, REG_MASK,
  BASE_SHIFT, INDEX_SHIFT, SCALE_SHIFT, SEG_SHIFT, SUB_SHIFT,
} from '../decode-cache.js';
import { reg8Index } from '../state.js';

/**
 * A compiled block (see the module comment). `cpu` is the CachedExecutor that runs it;
 * the parameter is typed loosely because generated code reaches its handler methods.
 */
export type CompiledBlock = (cpu: object, eip0: number, s0: number, page: number) => number;

/** Result of `translateBlock`. */
export interface Translation {
  /** The function body (the source of the factory that returns the block function). */
  readonly source: string;
  /** Number of records translated (0: nothing to compile). */
  readonly count: number;
}

/** Lazy-flag constants of state.ts written as literals in generated code. */
const LAZY_ADD = 0, LAZY_SUB = 1, LAZY_LOGIC = 2;
/** ARITH_FLAGS, CF|OF|AF and ZF|SF|PF. */
const ARITH = 0x8d5, CF_OF_AF = 0x811, ZF_SF_PF = 0xc4;
const MSB32 = '-2147483648';

/** Hex literal of an int32 (readable in dumps). */
function hex(v: number): string {
  return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** Per-record facts the emitters need. */
interface Rec {
  /** Index of the record in the block. */
  k: number;
  op: number;
  /** Packed operand word. */
  a: number;
  disp: number;
  imm: number;
  /** Offset of this instruction's EIP from eip0. */
  at: number;
  /** Offset of the next instruction's EIP from eip0. */
  next: number;
  /** The lazy flags this record writes are overwritten before anyone can see them (`flagsDead`). */
  dead: boolean;
}

/**
 * Whether the lazy flags written by record `k` (an ALU op storing all of them through
 * `lazy()`) are dead: a later record of the block overwrites all of them the same way (a
 * 32-bit register ALU op other than ADC/SBB, or TEST) and every record in between neither
 * reads flags nor can fault, leave the block or call a handler (register moves, LEA,
 * MOV r,imm, NOP). The state after the later record is then identical either way.
 */
function flagsDead(c: Int32Array, s0: number, n: number, k: number): boolean {
  for (let j = k + 1; j < n; j++) {
    const s = s0 + j * DC_STRIDE, op = c[s + DC_OP], sub = (c[s + DC_OPS] >>> SUB_SHIFT) & 15;
    if (op === 74 || ((op === 65 || op === 68) && sub !== 2 && sub !== 3)) return true;
    if (op !== 64 && op !== 70 && op !== 22 && op !== 55) return false;
  }
  return false;
}

/**
 * What the locals x, y, r hold about the current lazy flags: the operands and result of
 * the last flag-writing instruction when it was an inline 32-bit ADD, SUB/CMP or logic op
 * (then Jcc tests them directly), else null.
 */
type FlagSource = 'add' | 'sub' | 'logic' | 'inc' | 'dec' | null;

/** Builds the block's source. */
class Emitter {
  private readonly out: string[] = [];
  /** See `FlagSource`. */
  flags: FlagSource = null;

  line(s: string): void {
    this.out.push(`    ${s}`);
  }

  text(): string {
    return this.out.join('\n');
  }

  /** `eip0 + off` as a 32-bit EIP expression. */
  static eip(off: number): string {
    return off === 0 ? 'eip0' : `(eip0 + ${off}) | 0`;
  }

  /** Leaves the block after record `r` with EIP `eipExpr` already computed. */
  exit(r: Rec, eipExpr: string): void {
    this.line(`cpu.eip = ${eipExpr}; cpu.instructionsRetired += ${r.k + 1}; return -1;`);
  }

  /**
   * The exit check after an instruction that touched memory or called a handler. Inline
   * accesses set `q` when they left the TLB fast path or wrote into a code page (nothing
   * else can raise `attention`, bump a page generation or replace the fetch TLB entry), so
   * their check (`inline`) costs one local test on the fast path.
   */
  check(r: Rec, inline = false): void {
    this.line(`if (${inline ? 'q !== 0 && (' : '('}cpu.attention || pageGen[page] !== pg0 || cpu.fetchPage !== fp)) { ` +
      `cpu.eip = ${Emitter.eip(r.next)}; cpu.instructionsRetired += ${r.k + 1}; return -1; }`);
  }
}

/** The offset expression of a record's memory operand (as `cOffset`). */
function offsetExpr(a: number, disp: number): string {
  const terms: string[] = [];
  const b = (a >>> BASE_SHIFT) & 15;
  if (b !== NO_REG) terms.push(`r32[${b}]`);
  const x = (a >>> INDEX_SHIFT) & 15;
  if (x !== NO_REG) {
    const sc = (a >>> SCALE_SHIFT) & 3;
    terms.push(sc === 0 ? `r32[${x}]` : `(r32[${x}] << ${sc})`);
  }
  if (disp !== 0 || terms.length === 0) terms.push(hex(disp));
  const sum = terms.join(' + ');
  return (a & F_A16) !== 0 ? `(${sum}) & 0xffff` : `(${sum}) | 0`;
}

/** Code computing `l`, the linear address of the memory operand (as `cLin`). */
function linCode(r: Rec, size: number, write: boolean): string {
  const sg = (r.a >>> SEG_SHIFT) & 7;
  return `ea = ${offsetExpr(r.a, r.disp)}; ` +
    `if (((scm >> ${sg}) & 1) !== 0) cpu.checkSeg(${sg}, ea, ${size}, ${write}); ` +
    `l = (segBase[${sg}] + ea) | 0; p = l >>> 12;`;
}

/** Expression reading `size` bytes at `l` (page in `p`) through the TLB fast path. */
function readExpr(size: number): string {
  switch (size) {
    case 4: return '(l & 0xfff) <= 0xffc && (tlbFlags[p] & rm) === rm ? view.getInt32(tlbData[p] + (l & 0xfff), true) : (q = 1, cpu.readU32(l))';
    case 2: return '(l & 0xfff) !== 0xfff && (tlbFlags[p] & rm) === rm ? view.getUint16(tlbData[p] + (l & 0xfff), true) : (q = 1, cpu.readU16(l))';
    default: return '(tlbFlags[p] & rm) === rm ? u8[tlbData[p] + (l & 0xfff)] : (q = 1, cpu.readU8(l))';
  }
}

/** Statement writing `v` (an expression) of `size` bytes at `l` (page in `p`) through the TLB fast path. */
function writeCode(size: number, v: string): string {
  const cond = size === 4 ? '(l & 0xfff) <= 0xffc && ' : size === 2 ? '(l & 0xfff) !== 0xfff && ' : '';
  const store = size === 4 ? `view.setInt32(o, ${v}, true)` : size === 2 ? `view.setUint16(o, ${v}, true)` : `u8[o] = ${v}`;
  const slow = size === 4 ? 'cpu.writeU32' : size === 2 ? 'cpu.writeU16' : 'cpu.writeU8';
  return `if (${cond}(tlbFlags[p] & wm) === wm) { o = tlbData[p] + (l & 0xfff); ${store}; ` +
    `if (codePage[o >>> 12] !== 0) { cpu.codeWatch.pageWritten(o >>> 12); q = 1; } } else { ${slow}(l, ${v}); q = 1; }`;
}

/** PUSH of a 32-bit value (as `push32`; the value is read before ESP changes). */
function push32Code(value: string): string {
  return `v = ${value}; ea = (r32[4] - 4) & sm; if ((scm & 4) !== 0) cpu.checkSeg(2, ea, 4, true); ` +
    `l = (segBase[2] + ea) | 0; p = l >>> 12; ${writeCode(4, 'v')} if (s32) r32[4] = ea; else r16[8] = ea;`;
}

/** POP of 32 bits into `v` (as `pop32`). */
function pop32Code(): string {
  return `ea = r32[4] & sm; if ((scm & 4) !== 0) cpu.checkSeg(2, ea, 4, false); ` +
    `l = (segBase[2] + ea) | 0; p = l >>> 12; v = ${readExpr(4)}; if (s32) r32[4] = ea + 4; else r16[8] = ea + 4;`;
}

/** The 32-bit ALU operation `sub` on locals x, y into r, with its lazy flags (as `alu`). */
function aluCode(sub: number, dead = false): string {
  let r: string, kind = LAZY_LOGIC;
  switch (sub) {
    case 0: r = '(x + y) | 0'; kind = LAZY_ADD; break;
    case 1: r = 'x | y'; break;
    case 2: r = '(x + y + cpu.getCF()) | 0'; kind = LAZY_ADD; break;
    case 3: r = '(x - y - cpu.getCF()) | 0'; kind = LAZY_SUB; break;
    case 4: r = 'x & y'; break;
    case 6: r = 'x ^ y'; break;
    default: r = '(x - y) | 0'; kind = LAZY_SUB; break; // SUB, CMP
  }
  if (dead) return `r = ${r}; /* flags overwritten below */`;
  return `r = ${r}; cpu.lazyOp = ${kind}; cpu.lazyA = x; cpu.lazyB = y; cpu.lazyR = r; cpu.lazyMsb = ${MSB32}; cpu.flagsDirty = ${hex(ARITH)};`;
}

/** The flag source an inline 32-bit ALU operation `sub` leaves in x, y, r. */
function aluFlagSource(sub: number): FlagSource {
  switch (sub) {
    case 0: return 'add';
    case 5: case 7: return 'sub';
    case 1: case 4: case 6: return 'logic';
    default: return null; // ADC, SBB: the carry-in is not in the locals
  }
}

/**
 * Condition `cc` of Jcc computed from x, y, r of flag source `src` (32 bits), or
 * undefined when it has to go through `cond()` (PF, or no known source).
 */
function fusedCond(src: FlagSource, cc: number): string | undefined {
  if (src === null) return undefined;
  let t: string | undefined;
  const zf = 'r === 0', sf = 'r < 0';
  if (src === 'inc' || src === 'dec') {
    // CF is the one from before the INC/DEC: not in the locals.
    const of = src === 'inc' ? 'r === -2147483648' : 'x === -2147483648';
    switch (cc >> 1) {
      case 0: t = of; break;
      case 2: t = zf; break;
      case 4: t = sf; break;
      case 6: t = `(r < 0) !== (${of})`; break;
      case 7: t = `(r === 0 || (r < 0) !== (${of}))`; break;
      default: t = undefined; break;
    }
    if (t === undefined) return undefined;
    return (cc & 1) !== 0 ? `!(${t})` : t;
  }
  switch (cc >> 1) {
    case 0: t = src === 'sub' ? '((x ^ y) & (x ^ r)) < 0' : src === 'add' ? '((x ^ r) & (y ^ r)) < 0' : 'false'; break;
    case 1: t = src === 'sub' ? '(x >>> 0) < (y >>> 0)' : src === 'add' ? '(r >>> 0) < (x >>> 0)' : 'false'; break;
    case 2: t = zf; break;
    case 3: t = src === 'sub' ? '(x >>> 0) <= (y >>> 0)' : src === 'add' ? '((r >>> 0) < (x >>> 0) || r === 0)' : zf; break;
    case 4: t = sf; break;
    case 5: t = undefined; break;
    case 6: t = src === 'sub' ? 'x < y' : src === 'add' ? '(r < 0) !== (((x ^ r) & (y ^ r)) < 0)' : sf; break;
    default: t = src === 'sub' ? 'x <= y' : src === 'add' ? '(r === 0 || (r < 0) !== (((x ^ r) & (y ^ r)) < 0))' : 'r <= 0'; break;
  }
  if (t === undefined) return undefined;
  return (cc & 1) !== 0 ? `!(${t})` : t;
}

/** Lazy ZF/SF/PF of r with CF/OF/AF from `concrete` (as `lazyResult`, 32 bits). */
function lazyResultCode(concrete: string): string {
  return `cpu.lazyOp = ${LAZY_LOGIC}; cpu.lazyR = r; cpu.lazyMsb = ${MSB32}; ` +
    `cpu.flags = (cpu.flags & ${~CF_OF_AF}) | ((${concrete}) & ${hex(CF_OF_AF)}); cpu.flagsDirty = ${hex(ZF_SF_PF)};`;
}

/**
 * The handler call `burst` makes for record op `op` (operand word `a`, immediate `imm`),
 * with `s` the expression of the record's arena index; undefined for OP_LEGACY.
 */
function handlerCall(op: number, a: number, imm: number, s: string): string | undefined {
  const o32 = (a & F_O32) !== 0;
  switch (op) {
    case 1: return `cpu.cAluEG8(${s});`;
    case 2: return `cpu.cAluEG(${s});`;
    case 3: return `cpu.cAluGE8(${s});`;
    case 4: return `cpu.cAluGE(${s});`;
    case 5: return `cpu.cAluAI8(${s});`;
    case 6: return `cpu.cAluAI(${s});`;
    case 7: return `cpu.cGrp1_8(${s});`;
    case 8: return `cpu.cGrp1(${s});`;
    case 9: return `cpu.cTestEG8(${s});`;
    case 10: return `cpu.cTestEG(${s});`;
    case 11: return `cpu.alu(4, r8[0], ${imm}, 0x80);`;
    case 12: return `cpu.cTestAI(${s});`;
    case 13: return `cpu.cTestEI8(${s});`;
    case 14: return `cpu.cTestEI(${s});`;
    case 15: return `cpu.cMovEG8(${s});`;
    case 16: return `cpu.cMovEG(${s});`;
    case 17: return `cpu.cMovGE8(${s});`;
    case 18: return `cpu.cMovGE(${s});`;
    case 19: return `cpu.cMovEI8(${s});`;
    case 20: return `cpu.cMovEI(${s});`;
    case 21: return `r8[${reg8Index(a & REG_MASK)}] = ${imm};`;
    case 22: return `cpu.cMovRI(${s});`;
    case 23: return `cpu.cLea(${s});`;
    case 24: return `cpu.cIncR(${s});`;
    case 25: return `cpu.cDecR(${s});`;
    case 26: return `cpu.cPushR(${s});`;
    case 27: return `cpu.cPopR(${s});`;
    case 28: return `cpu.cPush(${a}, ${imm});`;
    case 34: return `cpu.cSetRegV(${a}, cpu.cReadE8(${s}));`;
    case 35: return `cpu.cSetRegV(${a}, cpu.cReadE16(${s}));`;
    case 36: return `cpu.cSetRegV(${a}, (cpu.cReadE8(${s}) << 24) >> 24);`;
    case 37: return `cpu.cSetRegV(${a}, (cpu.cReadE16(${s}) << 16) >> 16);`;
    case 38: return `cpu.cShift8(${s});`;
    case 39: return `cpu.cShift(${s});`;
    case 40: return `cpu.cNot8(${s});`;
    case 41: return `cpu.cNot(${s});`;
    case 42: return `cpu.cNeg8(${s});`;
    case 43: return `cpu.cNeg(${s});`;
    case 44: return `cpu.cIncDecE8(${s});`;
    case 45: return `cpu.cIncDecE(${s});`;
    case 48: return `cpu.cPush(${a}, cpu.cReadEV(${s}));`;
    case 49: return `cpu.cSetcc(${s});`;
    case 50: return `cpu.cCmov(${s});`;
    case 51: return `cpu.cImulGE(${s});`;
    case 52: return `cpu.cImulGEI(${s});`;
    case 53: return `cpu.cCwde(${s});`;
    case 54: return `cpu.cCdq(${s});`;
    case 55: return '/* nop */';
    case 56: return 'cpu.setArith(1, 0);';
    case 57: return 'cpu.setArith(1, 1);';
    case 58: return 'cpu.flags &= -1025;';
    case 59: return 'cpu.flags |= 0x400;';
    case 60: return `cpu.opsize32 = ${o32}; cpu.leave();`;
    case 61: return `cpu.cXchgAx(${s});`;
    case 66: return `cpu.fAluRM(${s});`;
    case 67: return `cpu.fAluMR(${s});`;
    case 69: return `cpu.fAluMI(${s});`;
    case 75: return `cpu.fLdzx8(${s});`;
    case 76: return `cpu.fLdzx16(${s});`;
    default: return undefined;
  }
}

/** Record ops whose handler neither touches memory nor can fault (no exit check, no fault bookkeeping). */
function registerOnly(op: number, a: number): boolean {
  const mem = (a & F_MEM) !== 0;
  switch (op) {
    case 5: case 6: case 11: case 12: case 21: case 22: case 23: case 24: case 25: case 53: case 54: case 55:
    case 56: case 57: case 58: case 59: case 61:
      return true;
    case 1: case 2: case 3: case 4: case 7: case 8: case 9: case 10: case 13: case 14: case 15: case 16: case 17:
    case 18: case 19: case 20: case 34: case 35: case 36: case 37: case 38: case 39: case 40: case 41: case 42:
    case 43: case 44: case 45: case 49: case 50: case 51: case 52:
      return !mem;
    default:
      return false;
  }
}

/**
 * Translates the `n` records of a block starting at arena word index `s0` of `c`.
 * Returns the factory source and the number of records translated.
 */
export function translateBlock(c: Int32Array, s0: number, n: number): Translation {
  const em = new Emitter();
  const offs: number[] = [];
  let at = 0, k = 0, ended = false;
  for (; k < n && !ended; k++) {
    const s = s0 + k * DC_STRIDE;
    const op = c[s + DC_OP];
    if (op === OP_LEGACY) break;
    const r: Rec = {
      k, op, a: c[s + DC_OPS], disp: c[s + DC_DISP], imm: c[s + DC_IMM], at, next: at + c[s + DC_LEN], dead: flagsDead(c, s0, n, k),
    };
    offs.push(at);
    at = r.next;
    ended = emitRecord(em, r, `s0 + ${k * DC_STRIDE}`);
  }
  if (k === 0) return { source: '', count: 0 };
  if (!ended) {
    // Fell off the end of the translated records: the block's end (page end, size limit)
    // or an OP_LEGACY record the interpreter runs next.
    const cut = k < n;
    em.line(`cpu.eip = ${Emitter.eip(at)}; cpu.instructionsRetired += ${k}; return ${cut ? k : -1};`);
  }
  const body = em.text();
  const faults = /\bi = /.test(body);
  // Only the locals the body uses (short blocks pay for every load of the prologue).
  const uses = (name: string): boolean => faults && name === 'r32' || new RegExp(`\\b${name}\\b`).test(body);
  const consts = [
    ['r32', 'cpu.r32'], ['r16', 'cpu.r16'], ['r8', 'cpu.r8'], ['u8', 'cpu.u8'], ['view', 'cpu.view'], ['segBase', 'cpu.segBase'],
    ['tlbFlags', 'cpu.tlbFlags'], ['tlbData', 'cpu.tlbData'], ['codePage', 'cpu.codePage'], ['pageGen', 'cpu.codeWatch.pageGen'],
    ['rm', 'cpu.readMask'], ['wm', 'cpu.writeMask'], ['scm', 'cpu.segChkMask'], ['fp', 'cpu.fetchPage'], ['pg0', 'pageGen[page]'],
    ['sm', 'cpu.spMask'], ['s32', 'cpu.ss32'],
  ].filter(([name]) => uses(name) || (name === 'pageGen' && uses('pg0')));
  const lets = ['ea', 'l', 'p', 'o', 'v', 'x', 'y', 'r', 'q'].filter(uses);
  if (faults) lets.unshift('i');
  const source = [
    `// block of ${k} instructions`,
    `const OFFS = [${offs.join(', ')}];`,
    'return function block(cpu, eip0, s0, page) {',
    ...(consts.length > 0 ? [`  const ${consts.map(([n, e]) => `${n} = ${e}`).join(', ')};`] : []),
    ...(lets.length > 0 ? [`  let ${lets.map((n) => `${n} = 0`).join(', ')};`] : []),
    ...(faults ? [
      '  try {',
      body,
      '  } catch (e) {',
      '    cpu.instrStart = (eip0 + OFFS[i]) | 0; cpu.espStart = r32[4]; cpu.instructionsRetired += i;',
      '    throw e;',
      '  }',
    ] : [body]),
    '};',
  ].join('\n');
  return { source, count: k };
}

/**
 * Records that leave the arithmetic flags alone (moves, loads, stores, stack ops, a Jcc
 * not taken...): the locals x, y, r still describe the flags after them (no handler can
 * touch the generated function's locals).
 */
function keepsFlagLocals(op: number): boolean {
  return (op >= 15 && op <= 23) || (op >= 26 && op <= 29) || (op >= 34 && op <= 37) || op === 48 ||
    (op >= 53 && op <= 55) || (op >= 58 && op <= 64) || op === 70 || op === 75 || op === 76;
}

/** Emits one record; returns true when it ends the block (every path leaves). */
function emitRecord(em: Emitter, r: Rec, s: string): boolean {
  const before = em.flags;
  const ended = emitRecordCode(em, r, s);
  const { op, a } = r;
  if (op === 65 || op === 68 || op === 66) em.flags = aluFlagSource((a >>> SUB_SHIFT) & 15);
  else if (op === 74) em.flags = 'logic';
  else if ((op === 24 || op === 25) && (a & F_O32) !== 0) em.flags = op === 24 ? 'inc' : 'dec';
  else em.flags = keepsFlagLocals(op) ? before : null;
  return ended;
}

/** Emits the code of one record (see `emitRecord`). */
function emitRecordCode(em: Emitter, r: Rec, s: string): boolean {
  const { op, a, k } = r;
  const o32 = (a & F_O32) !== 0;
  const reg = a & REG_MASK, base = (a >>> BASE_SHIFT) & 7, sub = (a >>> SUB_SHIFT) & 15;
  const nextEip = Emitter.eip(r.next);
  em.line(`// ${k}: op ${op} at +${r.at}`);
  switch (op) {
    case 62: { // OP_LD32
      em.line(`i = ${k}; ${linCode(r, 4, false)}`);
      em.line(`r32[${reg}] = ${readExpr(4)};`);
      em.check(r, true);
      return false;
    }
    case 63: { // OP_ST32
      em.line(`i = ${k}; ${linCode(r, 4, true)}`);
      em.line(writeCode(4, `r32[${reg}]`));
      em.check(r, true);
      return false;
    }
    case 16: // OP_MOV_EG (16-bit or register forms; 32-bit memory is OP_ST32)
      if ((a & F_MEM) !== 0 && !o32) {
        em.line(`i = ${k}; ${linCode(r, 2, true)}`);
        em.line(writeCode(2, `r16[${reg * 2}]`));
        em.check(r, true);
        return false;
      }
      break;
    case 15: // OP_MOV_EG8
      if ((a & F_MEM) !== 0) {
        em.line(`i = ${k}; ${linCode(r, 1, true)}`);
        em.line(writeCode(1, `r8[${reg8Index(reg)}]`));
        em.check(r, true);
        return false;
      }
      break;
    case 75: case 76: { // OP_LDZX8_32, OP_LDZX16_32
      const size = op === 75 ? 1 : 2;
      em.line(`i = ${k}; ${linCode(r, size, false)}`);
      em.line(`r32[${reg}] = ${readExpr(size)};`);
      em.check(r, true);
      return false;
    }
    case 66: // OP_ALU_RM32
      em.line(`i = ${k}; ${linCode(r, 4, false)}`);
      em.line(`x = r32[${reg}]; y = ${readExpr(4)};`);
      // Flags always stored: the exit check below may leave the block right after it.
      em.line(aluCode(sub) + (sub !== 7 ? ` r32[${reg}] = r;` : ''));
      em.check(r, true);
      return false;
    case 64: // OP_MOV_RR32
      em.line(`r32[${reg}] = r32[${base}];`);
      return false;
    case 65: case 68: { // OP_ALU_RR32, OP_ALU_RI32
      const d = op === 65 ? reg : base;
      em.line(`x = r32[${d}]; y = ${op === 65 ? `r32[${base}]` : hex(r.imm)};`);
      em.line(aluCode(sub, r.dead) + (sub !== 7 ? ` r32[${d}] = r;` : ''));
      return false;
    }
    case 74: // OP_TEST_RR32
      em.line(`x = r32[${base}]; y = r32[${reg}]; ${aluCode(4, r.dead)}`);
      return false;
    case 70: // OP_LEA32
      em.line(`r32[${reg}] = ${offsetExpr(a, r.disp)};`);
      return false;
    case 71: // OP_SHL_RI32
      em.line(`v = r32[${base}]; x = v << ${r.imm - 1}; r = v << ${r.imm}; r32[${base}] = r;`);
      em.line(lazyResultCode('(x >>> 31) | ((x ^ r) < 0 ? 0x800 : 0)'));
      return false;
    case 72: // OP_SHR_RI32
      em.line(`v = r32[${base}]; x = v >>> ${r.imm - 1}; r = (v >>> ${r.imm}) | 0; r32[${base}] = r;`);
      em.line(lazyResultCode('(x & 1) | ((x ^ r) < 0 ? 0x800 : 0)'));
      return false;
    case 73: // OP_SAR_RI32
      em.line(`v = r32[${base}]; r = v >> ${r.imm}; r32[${base}] = r;`);
      em.line(lazyResultCode(`(v >> ${r.imm - 1}) & 1`));
      return false;
    case 51: case 52: // OP_IMUL_GE, OP_IMUL_GEI: 32-bit register forms (as imul2)
      if ((a & F_MEM) !== 0 || !o32) break;
      em.line(op === 51 ? `x = r32[${reg}]; y = r32[${base}];` : `x = r32[${base}]; y = ${hex(r.imm)};`);
      em.line(`r = Math.imul(x, y); r32[${reg}] = r;`);
      em.line(lazyResultCode('x * y !== r ? 0x801 : 0'));
      return false;
    case 22: // OP_MOV_RI
      em.line(o32 ? `r32[${reg}] = ${hex(r.imm)};` : `r16[${reg * 2}] = ${hex(r.imm & 0xffff)};`);
      return false;
    case 24: case 25: { // OP_INC_R, OP_DEC_R
      if (o32) {
        // inc/dec written out; CF kept (from the locals when the previous flag source is known).
        const cf = em.flags === 'add' ? '((r >>> 0) < (x >>> 0) ? 1 : 0)' : em.flags === 'sub' ? '((x >>> 0) < (y >>> 0) ? 1 : 0)'
          : em.flags === 'logic' ? '0' : 'cpu.getCF()';
        em.line(`v = ${cf}; x = r32[${reg}]; r = (x ${op === 24 ? '+' : '-'} 1) | 0; r32[${reg}] = r;`);
        em.line(`cpu.flags = (cpu.flags & -2) | v; cpu.lazyOp = ${op === 24 ? LAZY_ADD : LAZY_SUB}; cpu.lazyA = x; cpu.lazyB = 1; ` +
          `cpu.lazyR = r; cpu.lazyMsb = ${MSB32}; cpu.flagsDirty = ${hex(ARITH & ~1)};`);
        return false;
      }
      em.line(o32 ? `r32[${reg}] = cpu.${op === 24 ? 'inc' : 'dec'}(r32[${reg}], ${MSB32});`
        : `r16[${reg * 2}] = cpu.${op === 24 ? 'inc' : 'dec'}(r16[${reg * 2}], 0x8000);`);
      return false;
    }
    case 26: // OP_PUSH_R
      if (o32) {
        em.line(`i = ${k}; ${push32Code(`r32[${reg}]`)}`);
        em.check(r, true);
        return false;
      }
      em.line(`i = ${k}; cpu.push16(r16[${reg * 2}]);`);
      em.check(r);
      return false;
    case 27: // OP_POP_R
      if (o32) {
        em.line(`i = ${k}; ${pop32Code()} r32[${reg}] = v;`);
        em.check(r, true);
        return false;
      }
      em.line(`i = ${k}; v = cpu.pop16(); r16[${reg * 2}] = v;`);
      em.check(r);
      return false;
    case 17: // OP_MOV_GE8
      if ((a & F_MEM) !== 0) {
        em.line(`i = ${k}; ${linCode(r, 1, false)}`);
        em.line(`r8[${reg8Index(reg)}] = ${readExpr(1)};`);
        em.check(r, true);
        return false;
      }
      em.line(`r8[${reg8Index(reg)}] = r8[${reg8Index(base)}];`);
      return false;
    case 18: // OP_MOV_GE, 16-bit (32-bit forms are OP_LD32 / OP_MOV_RR32)
      if ((a & F_MEM) !== 0 && !o32) {
        em.line(`i = ${k}; ${linCode(r, 2, false)}`);
        em.line(`r16[${reg * 2}] = ${readExpr(2)};`);
        em.check(r, true);
        return false;
      }
      break;
    case 19: case 20: // OP_MOV_EI8, OP_MOV_EI
      if ((a & F_MEM) !== 0) {
        const size = op === 19 ? 1 : o32 ? 4 : 2;
        em.line(`i = ${k}; ${linCode(r, size, true)}`);
        em.line(writeCode(size, hex(size === 4 ? r.imm : r.imm & (size === 2 ? 0xffff : 0xff))));
        em.check(r, true);
        return false;
      }
      break;
    case 29: { // OP_JCC
      const t = r.next + r.imm;
      em.line(`if (${fusedCond(em.flags, sub) ?? `cpu.cond(${sub})`}) { cpu.eip = ${o32 ? `(eip0 + ${t}) | 0` : `(eip0 + ${t}) & 0xffff`}; ` +
        `cpu.instructionsRetired += ${k + 1}; return -1; }`);
      return false;
    }
    case 30: { // OP_JMP
      const t = r.next + r.imm;
      em.exit(r, o32 ? `(eip0 + ${t}) | 0` : `(eip0 + ${t}) & 0xffff`);
      return true;
    }
    case 31: { // OP_CALL
      const t = r.next + r.imm;
      em.line(`i = ${k}; ${o32 ? push32Code(nextEip) : `cpu.push16(${nextEip});`}`);
      em.exit(r, o32 ? `(eip0 + ${t}) | 0` : `(eip0 + ${t}) & 0xffff`);
      return true;
    }
    case 32: case 33: // OP_RET, OP_RET_I
      em.line(`i = ${k}; ${o32 ? pop32Code() : 'v = cpu.pop16() & 0xffff;'}` + (op === 33 ? ` cpu.adjustSp(${r.imm});` : ''));
      em.exit(r, 'v');
      return true;
    case 46: case 47: // OP_CALL_E, OP_JMP_E
      em.line(`i = ${k}; cpu.eip = ${nextEip}; ${op === 46 ? `cpu.cCallE(${s});` : `cpu.cJump(${a}, cpu.cReadEV(${s}));`}`);
      em.line(`cpu.instructionsRetired += ${k + 1}; return -1;`);
      return true;
    default:
      break;
  }
  const call = handlerCall(op, a, r.imm, s);
  if (call === undefined) throw new Error(`jit: no translation for record op ${op}`);
  if (registerOnly(op, a)) {
    em.line(call);
  } else {
    em.line(`i = ${k}; ${call}`);
    em.check(r);
  }
  return false;
}
