/**
 * The interpreter's hot loop over the decoded-instruction cache (decode-cache.ts).
 *
 * `burst` looks up the basic block at CS:EIP by its backing-store offset (from the
 * instruction-fetch TLB; block-cache.ts), decodes it on a miss, and runs the frequent
 * instructions straight from their records, stepping from one record to the next: no
 * opcode/ModRM/SIB/immediate fetches, no prefix state, no per-instruction reset of the
 * decoder fields, no per-instruction look-up. Everything else (and code that is not in
 * RAM) goes through `legacyStep`, the fetch-and-decode path.
 *
 * Inside a block the loop still does, before every instruction, what it did per look-up:
 * it stops for `attention` (pending interrupts are taken at that instruction boundary) and
 * at `target` (exact instruction counts), and leaves the block when the code page's
 * generation changed (a store into the page: self-modifying code) or the fetch TLB entry
 * was replaced, and after a taken conditional jump.
 *
 * The record handlers below must do exactly what the legacy handlers of exec.ts /
 * exec-0f.ts do for the same instruction (same reads, probes, writes and lazy-flag
 * updates, in the same order), so faults, flags and memory side effects are identical;
 * the randomized and QEMU-compared tests run through this loop.
 *
 * Speed notes: V8 does not constant-fold imported bindings (nor reliably module-level
 * consts) in optimized code, and a `switch` over them is a compare chain instead of a jump
 * table. So the record word offsets (tag 0, gen 1, op 2, len 3, ops 4, disp 5, imm 6), the
 * operand-word bits and the handler numbers appear here as literals, with their
 * decode-cache.ts names in comments; decode-cache.test.ts checks that they agree.
 *
 * Invariant kept for the cached path: at every instruction boundary inside `burst`,
 * `irqInhibit` and `ssShadow` are false. Legacy instructions that set them (MOV SS,
 * POP SS, STI) end the burst, so `run` single-steps the next instruction as before.
 */
import { reg8Index } from './state.js';
import { FastFormExecutor } from './exec-fast.js';
import { BlockCache, blockSlot } from './block-cache.js';
import { JitCache, type JitOptions } from './jit/jit-cache.js';
import type { CompiledBlock } from './jit/block-compiler.js';


/** Operand size of a record's packed operand word. */
function o32(a: number): boolean {
  return (a & 0x800000 /* F_O32 */) !== 0;
}

/** Runs instructions from the decode cache; falls back to `legacyStep` for the rest. */
export abstract class CachedExecutor extends FastFormExecutor {
  abstract override instructionsRetired: number;
  /**
   * When false, every instruction takes the fetch-and-decode path (for differential tests
   * and debugging; the results must be identical either way).
   */
  decodeCacheEnabled = true;
  /** Basic blocks of records in `dc`. */
  private readonly blocks = new BlockCache(this.dc);
  /** The block translator (jit/): compiled hot blocks, or null when it is off. */
  private jit: JitCache | null = null;

  /** Executes one instruction through the fetch-and-decode path (prefixes included). */
  protected abstract legacyStep(): void;

  /** Forgets every decoded instruction of this CPU (reset, snapshot restore). */
  flushDecodeCache(): void {
    this.blocks.flush();
    this.jit?.flush();
  }

  /**
   * Turns the block translator on (with `opts`) or off (`false`). Results are identical
   * either way; only speed differs.
   */
  setJit(opts: JitOptions | false): void {
    this.jit = opts === false ? null : new JitCache(opts);
  }

  /** The block translator's state (null when off), for statistics and tests. */
  get jitCache(): JitCache | null {
    return this.jit;
  }

  /**
   * The hot loop: executes instructions until `attention` is raised or `target` is
   * reached. Faults propagate to `run` (EIP/4 are restored from instrStart/espStart).
   */
  protected burst(target: number): void {
    const r32 = this.r32, segBase = this.segBase, c = this.dc, u8 = this.u8;
    const pageGen = this.codeWatch.pageGen, codePage = this.codePage;
    const tlbFlags = this.tlbFlags, tlbData = this.tlbData, view = this.view;
    const blocks = this.blocks, bTag = blocks.tag, bGen = blocks.gen, bStart = blocks.start, bCount = blocks.count;
    const jit = this.jit;
    if (!this.decodeCacheEnabled) {
      while (!this.attention && this.instructionsRetired < target) {
        this.legacyStep();
        this.instructionsRetired++;
        if (this.irqInhibit) this.attention = true;
      }
      return;
    }
    // instrStart/espStart (where a fault unwinds to) are only stored when a cached
    // instruction faults: none of the record handlers changes ESP before its last
    // possible fault, and EIP is still the instruction's own until the record is found.
    let eip = 0, cached = false;
    try {
      while (!this.attention && this.instructionsRetired < target) {
        eip = this.eip;
        cached = true;
        const lin = (segBase[1] + eip) | 0;
        if ((lin >>> 12) !== this.fetchPage) {
          this.fetchLin8(lin);
          if ((lin >>> 12) !== this.fetchPage) {
            // Code outside RAM (MMIO): no caching.
            cached = false;
            this.legacyStep();
            this.instructionsRetired++;
            continue;
          }
        }
        const off = this.fetchDelta + (lin & 0xfff);
        const page = off >>> 12, pgen = pageGen[page], gen = (pgen << 1) | (this.cs32 ? 1 : 0);
        const e = blockSlot(off);
        if (bTag[e] !== off || bGen[e] !== gen) {
          blocks.build(e, u8, off, this.cs32, gen);
          codePage[page] = 1;
          if (jit !== null) jit.reset(e);
        }
        const fetchPage = this.fetchPage;
        let s = bStart[e], n = bCount[e];
        // ---- block translator (jit/) ----
        if (jit !== null) {
          const f = jit.fns[e];
          if (f !== null) {
            // Only when the whole compiled block fits before `target` (exact counts).
            if (this.instructionsRetired + jit.count[e] <= target) {
              cached = false; // compiled blocks keep instrStart/espStart themselves
              this.runCompiled(jit, f, eip, s, page, target);
              continue;
            }
          } else if (jit.hits[e] >= 0 && ++jit.hits[e] >= jit.threshold) {
            jit.compile(e, c, s, n);
          }
        }
        // ---- end of block translator ----
        for (;;) {
          const op = c[s + 2];
          if (op === 0) {
            cached = false;
            this.legacyStep();
            if (this.irqInhibit) this.attention = true;
            this.instructionsRetired++;
            break;
          }
          const next = (eip + c[s + 3]) | 0;
          this.eip = next;
          switch (op) {
            case 1: /* OP_ALU_EG8 */ this.cAluEG8(s); break;
            case 2: /* OP_ALU_EG */ this.cAluEG(s); break;
            case 3: /* OP_ALU_GE8 */ this.cAluGE8(s); break;
            case 4: /* OP_ALU_GE */ this.cAluGE(s); break;
            case 5: /* OP_ALU_AI8 */ this.cAluAI8(s); break;
            case 6: /* OP_ALU_AI */ this.cAluAI(s); break;
            case 7: /* OP_GRP1_8 */ this.cGrp1_8(s); break;
            case 8: /* OP_GRP1 */ this.cGrp1(s); break;
            case 9: /* OP_TEST_EG8 */ this.cTestEG8(s); break;
            case 10: /* OP_TEST_EG */ this.cTestEG(s); break;
            case 11: /* OP_TEST_AI8 */ this.alu(4, this.r8[0], c[s + 6], 0x80); break;
            case 12: /* OP_TEST_AI */ this.cTestAI(s); break;
            case 13: /* OP_TEST_EI8 */ this.cTestEI8(s); break;
            case 14: /* OP_TEST_EI */ this.cTestEI(s); break;
            case 15: /* OP_MOV_EG8 */ this.cMovEG8(s); break;
            case 16: /* OP_MOV_EG */ this.cMovEG(s); break;
            case 17: /* OP_MOV_GE8 */ this.cMovGE8(s); break;
            case 18: /* OP_MOV_GE */ this.cMovGE(s); break;
            case 19: /* OP_MOV_EI8 */ this.cMovEI8(s); break;
            case 20: /* OP_MOV_EI */ this.cMovEI(s); break;
            case 21: /* OP_MOV_RI8 */ this.r8[reg8Index(c[s + 4] & 7)] = c[s + 6]; break;
            case 22: /* OP_MOV_RI */ this.cMovRI(s); break;
            case 23: /* OP_LEA */ this.cLea(s); break;
            case 24: /* OP_INC_R */ this.cIncR(s); break;
            case 25: /* OP_DEC_R */ this.cDecR(s); break;
            case 26: /* OP_PUSH_R */ this.cPushR(s); break;
            case 27: /* OP_POP_R */ this.cPopR(s); break;
            case 28: /* OP_PUSH_I */ this.cPush(c[s + 4], c[s + 6]); break;
            case 29: /* OP_JCC */ {
              const a = c[s + 4];
              if (this.cond((a >>> 4) & 15)) {
                const t = this.eip + c[s + 6];
                this.eip = (a & 0x800000 /* F_O32 */) !== 0 ? t | 0 : t & 0xffff;
              }
              break;
            }
            case 30: /* OP_JMP */ this.cJump(c[s + 4], this.eip + c[s + 6]); break;
            case 31: /* OP_CALL */ this.cCall(s); break;
            case 32: /* OP_RET */ this.cRet(s); break;
            case 33: /* OP_RET_I */ this.cRet(s); this.adjustSp(c[s + 6]); break;
            case 34: /* OP_MOVZX8 */ this.cSetRegV(c[s + 4], this.cReadE8(s)); break;
            case 35: /* OP_MOVZX16 */ this.cSetRegV(c[s + 4], this.cReadE16(s)); break;
            case 36: /* OP_MOVSX8 */ this.cSetRegV(c[s + 4], (this.cReadE8(s) << 24) >> 24); break;
            case 37: /* OP_MOVSX16 */ this.cSetRegV(c[s + 4], (this.cReadE16(s) << 16) >> 16); break;
            case 38: /* OP_SHIFT8 */ this.cShift8(s); break;
            case 39: /* OP_SHIFT */ this.cShift(s); break;
            case 40: /* OP_NOT8 */ this.cNot8(s); break;
            case 41: /* OP_NOT */ this.cNot(s); break;
            case 42: /* OP_NEG8 */ this.cNeg8(s); break;
            case 43: /* OP_NEG */ this.cNeg(s); break;
            case 44: /* OP_INCDEC_E8 */ this.cIncDecE8(s); break;
            case 45: /* OP_INCDEC_E */ this.cIncDecE(s); break;
            case 46: /* OP_CALL_E */ this.cCallE(s); break;
            case 47: /* OP_JMP_E */ this.cJump(c[s + 4], this.cReadEV(s)); break;
            case 48: /* OP_PUSH_E */ this.cPush(c[s + 4], this.cReadEV(s)); break;
            case 49: /* OP_SETCC */ this.cSetcc(s); break;
            case 50: /* OP_CMOV */ this.cCmov(s); break;
            case 51: /* OP_IMUL_GE */ this.cImulGE(s); break;
            case 52: /* OP_IMUL_GEI */ this.cImulGEI(s); break;
            case 53: /* OP_CWDE */ this.cCwde(s); break;
            case 54: /* OP_CDQ */ this.cCdq(s); break;
            case 55: /* OP_NOP */ break;
            case 56: /* OP_CLC */ this.setArith(1, 0); break;
            case 57: /* OP_STC */ this.setArith(1, 1); break;
            case 58: /* OP_CLD */ this.flags &= ~0x400; break;
            case 59: /* OP_STD */ this.flags |= 0x400; break;
            case 60: /* OP_LEAVE */ this.opsize32 = o32(c[s + 4]); this.leave(); break;
            case 61: /* OP_XCHG_AX */ this.cXchgAx(s); break;
            case 62: /* OP_LD32 */ {
              // Written out: the hot loop is too big for V8 to inline handlers into it.
              const a = c[s + 4];
              let ea = c[s + 5];
              const b = (a >>> 8) & 15;
              if (b !== 8) ea += r32[b];
              const x = (a >>> 12) & 15;
              if (x !== 8) ea += r32[x] << ((a >>> 16) & 3);
              if ((a & 0x400000 /* F_A16 */) !== 0) ea &= 0xffff;
              const sg = (a >>> 18) & 7;
              if (((this.segChkMask >> sg) & 1) !== 0) this.checkSeg(sg, ea, 4, false);
              const l = (segBase[sg] + ea) | 0, p = l >>> 12, m = this.readMask;
              r32[a & 7] = (l & 0xfff) <= 0xffc && (tlbFlags[p] & m) === m ? view.getInt32(tlbData[p] + (l & 0xfff), true) : this.readU32(l);
              break;
            }
            case 63: /* OP_ST32 */ {
              // Written out, as OP_LD32.
              const a = c[s + 4];
              let ea = c[s + 5];
              const b = (a >>> 8) & 15;
              if (b !== 8) ea += r32[b];
              const x = (a >>> 12) & 15;
              if (x !== 8) ea += r32[x] << ((a >>> 16) & 3);
              if ((a & 0x400000 /* F_A16 */) !== 0) ea &= 0xffff;
              const sg = (a >>> 18) & 7;
              if (((this.segChkMask >> sg) & 1) !== 0) this.checkSeg(sg, ea, 4, true);
              const l = (segBase[sg] + ea) | 0, p = l >>> 12, m = this.writeMask, v = r32[a & 7];
              if ((l & 0xfff) <= 0xffc && (tlbFlags[p] & m) === m) {
                const o = tlbData[p] + (l & 0xfff);
                view.setInt32(o, v, true);
                if (codePage[o >>> 12] !== 0) this.codeWatch.pageWritten(o >>> 12);
              } else {
                this.writeU32(l, v);
              }
              break;
            }
            case 64: /* OP_MOV_RR32 */ { const a = c[s + 4]; r32[a & 7] = r32[(a >>> 8) & 7]; break; }
            case 65: /* OP_ALU_RR32 */ case 68: /* OP_ALU_RI32 */ {
              // alu(sub, x, y, MSB32) written out.
              const a = c[s + 4], sub = (a >>> 4) & 15;
              const d = op === 65 ? a & 7 : (a >>> 8) & 7;
              const x = r32[d], y = op === 65 ? r32[(a >>> 8) & 7] : c[s + 6];
              let r: number, kind = 2; // LAZY_LOGIC
              switch (sub) {
                case 0: r = (x + y) | 0; kind = 0; break; // LAZY_ADD
                case 1: r = x | y; break;
                case 2: r = (x + y + this.getCF()) | 0; kind = 0; break;
                case 3: r = (x - y - this.getCF()) | 0; kind = 1; break; // LAZY_SUB
                case 4: r = x & y; break;
                case 6: r = x ^ y; break;
                default: r = (x - y) | 0; kind = 1; break; // SUB, CMP
              }
              this.lazyOp = kind; this.lazyA = x; this.lazyB = y; this.lazyR = r; this.lazyMsb = 0x80000000 | 0;
              this.flagsDirty = 0x8d5; // ARITH_FLAGS
              if (sub !== 7) r32[d] = r;
              break;
            }
            case 66: /* OP_ALU_RM32 */ this.fAluRM(s); break;
            case 67: /* OP_ALU_MR32 */ this.fAluMR(s); break;
            case 69: /* OP_ALU_MI32 */ this.fAluMI(s); break;
            case 70: /* OP_LEA32 */ this.fLea32(s); break;
            case 71: /* OP_SHL_RI32 */ this.fShlRI(s); break;
            case 72: /* OP_SHR_RI32 */ this.fShrRI(s); break;
            case 73: /* OP_SAR_RI32 */ this.fSarRI(s); break;
            case 74: /* OP_TEST_RR32 */ this.fTestRR(s); break;
            case 75: /* OP_LDZX8_32 */ this.fLdzx8(s); break;
            case 76: /* OP_LDZX16_32 */ this.fLdzx16(s); break;
            default: throw new Error(`decode cache: bad handler ${op}`);
          }
          this.instructionsRetired++;
          if (--n === 0 || this.eip !== next || this.attention || this.instructionsRetired >= target ||
            pageGen[page] !== pgen || this.fetchPage !== fetchPage) break;
          eip = next;
          s += 8;
        }
      }
    } catch (e) {
      if (cached) {
        this.instrStart = eip;
        this.espStart = r32[4];
      }
      throw e;
    }
  }

  /**
   * Runs compiled block `f` (entry EIP `eip`, first record `s`, backing page `page`) and
   * then, as long as the next block is compiled too and nothing needs `burst` (attention,
   * `target`, code outside the fetch TLB page, a block to build or to count), the next
   * ones, each looked up as `burst` does. A block cut before an OP_LEGACY record returns
   * with EIP at that record; `burst` runs it from a block of its own.
   */
  private runCompiled(jit: JitCache, f: CompiledBlock, eip: number, s: number, page: number, target: number): void {
    const blocks = this.blocks, bTag = blocks.tag, bGen = blocks.gen, bStart = blocks.start;
    const pageGen = this.codeWatch.pageGen, segBase = this.segBase, fns = jit.fns, count = jit.count;
    const tlbFlags = this.tlbFlags, tlbData = this.tlbData;
    const csd = this.cs32 ? 1 : 0;
    for (;;) {
      f(this, eip, s, page);
      if (this.attention) return;
      eip = this.eip;
      const lin = (segBase[1] + eip) | 0, lp = lin >>> 12;
      if (lp !== this.fetchPage) {
        // Another code page: what fetchLin8 does when its TLB entry is there (else burst).
        if ((tlbFlags[lp] & this.fetchMask) !== this.fetchMask) return;
        this.fetchPage = lp;
        this.fetchDelta = tlbData[lp];
      }
      const off = this.fetchDelta + (lin & 0xfff);
      const e = blockSlot(off);
      page = off >>> 12;
      if (bTag[e] !== off || bGen[e] !== ((pageGen[page] << 1) | csd)) return;
      const g = fns[e];
      if (g === null || this.instructionsRetired + count[e] > target) return;
      f = g;
      s = bStart[e];
    }
  }

  // ------------------------------------------------------------------ operands

  private cReadE8(s: number): number {
    const a = this.dc[s + 4];
    return (a & 0x200000 /* F_MEM */) !== 0 ? this.readU8(this.cLin(s, 1, false)) : this.r8[reg8Index((a >>> 8) & 7)];
  }

  private cReadE16(s: number): number {
    const a = this.dc[s + 4];
    return (a & 0x200000 /* F_MEM */) !== 0 ? this.readU16(this.cLin(s, 2, false)) : this.r16[((a >>> 8) & 7) * 2];
  }

  private cReadE32(s: number): number {
    const a = this.dc[s + 4];
    return (a & 0x200000 /* F_MEM */) !== 0 ? this.readU32(this.cLin(s, 4, false)) : this.r32[(a >>> 8) & 7];
  }

  private cReadEV(s: number): number {
    return o32(this.dc[s + 4]) ? this.cReadE32(s) : this.cReadE16(s);
  }

  private cSetRegV(a: number, v: number): void {
    if (o32(a)) this.r32[a & 7] = v; else this.r16[(a & 7) * 2] = v;
  }

  /** Near jump to `target` at the record's operand size. */
  private cJump(a: number, target: number): void {
    this.eip = o32(a) ? target | 0 : target & 0xffff;
  }

  private cPush(a: number, v: number): void {
    if (o32(a)) this.push32(v); else this.push16(v);
  }

  // ------------------------------------------------------------------ ALU

  private cAluEG8(s: number): void {
    const a = this.dc[s + 4];
    this.aluE8(s, a, (a >>> 4) & 15, this.r8[reg8Index(a & 7)]);
  }

  /** ALU op `sub` on the 8-bit E operand of record `s` (operand word `a`) with `src`. */
  private aluE8(s: number, a: number, sub: number, src: number): void {
    if (a & 0x200000 /* F_MEM */) {
      const lin = this.cLin(s, 1, sub !== 7);
      if (sub === 7) { this.alu(7, this.readU8(lin), src, 0x80); return; }
      this.probeWrite(lin, 1);
      this.writeU8(lin, this.alu(sub, this.readU8(lin), src, 0x80));
    } else {
      const e = reg8Index((a >>> 8) & 7);
      const r = this.alu(sub, this.r8[e], src, 0x80);
      if (sub !== 7) this.r8[e] = r;
    }
  }


  private cAluEG(s: number): void {
    const a = this.dc[s + 4], reg = a & 7;
    this.aluE(s, a, (a >>> 4) & 15, o32(a) ? this.r32[reg] : this.r16[reg * 2]);
  }

  /** ALU op `sub` on the 16/32-bit E operand of record `s` (operand word `a`) with `src`. */
  private aluE(s: number, a: number, sub: number, src: number): void {
    if (a & 0x200000 /* F_MEM */) {
      const lin = this.cLin(s, o32(a) ? 4 : 2, sub !== 7);
      if (o32(a)) {
        if (sub === 7) { this.alu(7, this.readU32(lin), src, (0x80000000 | 0)); return; }
        this.probeWrite(lin, 4);
        this.writeU32(lin, this.alu(sub, this.readU32(lin), src, (0x80000000 | 0)));
      } else {
        if (sub === 7) { this.alu(7, this.readU16(lin), src, 0x8000); return; }
        this.probeWrite(lin, 2);
        this.writeU16(lin, this.alu(sub, this.readU16(lin), src, 0x8000));
      }
    } else {
      const e = (a >>> 8) & 7;
      if (o32(a)) {
        const r = this.alu(sub, this.r32[e], src, (0x80000000 | 0));
        if (sub !== 7) this.r32[e] = r;
      } else {
        const r = this.alu(sub, this.r16[e * 2], src, 0x8000);
        if (sub !== 7) this.r16[e * 2] = r;
      }
    }
  }


  private cAluGE8(s: number): void {
    const a = this.dc[s + 4], sub = (a >>> 4) & 15;
    const g = reg8Index(a & 7);
    const r = this.alu(sub, this.r8[g], this.cReadE8(s), 0x80);
    if (sub !== 7) this.r8[g] = r;
  }

  private cAluGE(s: number): void {
    const a = this.dc[s + 4], sub = (a >>> 4) & 15, reg = a & 7;
    if (o32(a)) {
      const r = this.alu(sub, this.r32[reg], this.cReadE32(s), (0x80000000 | 0));
      if (sub !== 7) this.r32[reg] = r;
    } else {
      const r = this.alu(sub, this.r16[reg * 2], this.cReadE16(s), 0x8000);
      if (sub !== 7) this.r16[reg * 2] = r;
    }
  }

  private cAluAI8(s: number): void {
    const sub = (this.dc[s + 4] >>> 4) & 15;
    const r = this.alu(sub, this.r8[0], this.dc[s + 6], 0x80);
    if (sub !== 7) this.r8[0] = r;
  }

  private cAluAI(s: number): void {
    const a = this.dc[s + 4], sub = (a >>> 4) & 15, imm = this.dc[s + 6];
    if (o32(a)) {
      const r = this.alu(sub, this.r32[0], imm, (0x80000000 | 0));
      if (sub !== 7) this.r32[0] = r;
    } else {
      const r = this.alu(sub, this.r16[0], imm, 0x8000);
      if (sub !== 7) this.r16[0] = r;
    }
  }

  private cGrp1_8(s: number): void {
    const a = this.dc[s + 4];
    this.aluE8(s, a, a & 7, this.dc[s + 6]);
  }


  private cGrp1(s: number): void {
    const a = this.dc[s + 4];
    this.aluE(s, a, a & 7, this.dc[s + 6]);
  }


  private cTestEG8(s: number): void {
    const a = this.dc[s + 4];
    this.alu(4, this.cReadE8(s), this.r8[reg8Index(a & 7)], 0x80);
  }

  private cTestEG(s: number): void {
    const a = this.dc[s + 4], reg = a & 7;
    if (o32(a)) this.alu(4, this.cReadE32(s), this.r32[reg], (0x80000000 | 0));
    else this.alu(4, this.cReadE16(s), this.r16[reg * 2], 0x8000);
  }

  private cTestAI(s: number): void {
    const imm = this.dc[s + 6];
    if (o32(this.dc[s + 4])) this.alu(4, this.r32[0], imm, (0x80000000 | 0));
    else this.alu(4, this.r16[0], imm, 0x8000);
  }

  private cTestEI8(s: number): void {
    this.alu(4, this.cReadE8(s), this.dc[s + 6], 0x80);
  }

  private cTestEI(s: number): void {
    const imm = this.dc[s + 6];
    if (o32(this.dc[s + 4])) this.alu(4, this.cReadE32(s), imm, (0x80000000 | 0));
    else this.alu(4, this.cReadE16(s), imm, 0x8000);
  }

  // ------------------------------------------------------------------ moves

  private cWriteE8(s: number, v: number): void {
    const a = this.dc[s + 4];
    if (a & 0x200000 /* F_MEM */) this.writeU8(this.cLin(s, 1, true), v); else this.r8[reg8Index((a >>> 8) & 7)] = v;
  }

  private cWriteEV(s: number, v: number): void {
    const a = this.dc[s + 4];
    if (a & 0x200000 /* F_MEM */) {
      if (o32(a)) this.writeU32(this.cLin(s, 4, true), v); else this.writeU16(this.cLin(s, 2, true), v);
    } else if (o32(a)) {
      this.r32[(a >>> 8) & 7] = v;
    } else {
      this.r16[((a >>> 8) & 7) * 2] = v;
    }
  }

  private cMovEG8(s: number): void {
    this.cWriteE8(s, this.r8[reg8Index(this.dc[s + 4] & 7)]);
  }

  private cMovEG(s: number): void {
    const a = this.dc[s + 4], reg = a & 7;
    this.cWriteEV(s, o32(a) ? this.r32[reg] : this.r16[reg * 2]);
  }

  private cMovGE8(s: number): void {
    this.r8[reg8Index(this.dc[s + 4] & 7)] = this.cReadE8(s);
  }

  private cMovGE(s: number): void {
    const a = this.dc[s + 4], reg = a & 7;
    if (o32(a)) this.r32[reg] = this.cReadE32(s); else this.r16[reg * 2] = this.cReadE16(s);
  }

  private cMovEI8(s: number): void { this.cWriteE8(s, this.dc[s + 6]); }
  private cMovEI(s: number): void { this.cWriteEV(s, this.dc[s + 6]); }

  private cMovRI(s: number): void {
    this.cSetRegV(this.dc[s + 4], this.dc[s + 6]);
  }

  private cLea(s: number): void {
    const a = this.dc[s + 4];
    this.cSetRegV(a, this.cOffset(a, this.dc[s + 5]));
  }

  private cXchgAx(s: number): void {
    const a = this.dc[s + 4], r = a & 7;
    if (o32(a)) { const t = this.r32[r]; this.r32[r] = this.r32[0]; this.r32[0] = t; }
    else { const t = this.r16[r * 2]; this.r16[r * 2] = this.r16[0]; this.r16[0] = t; }
  }

  private cCwde(s: number): void {
    if (o32(this.dc[s + 4])) this.r32[0] = (this.r32[0] << 16) >> 16;
    else this.r16[0] = (this.r8[0] << 24) >> 24;
  }

  private cCdq(s: number): void {
    if (o32(this.dc[s + 4])) this.r32[2] = this.r32[0] >> 31;
    else this.r16[2 * 2] = (this.r16[0] & 0x8000) ? 0xffff : 0;
  }

  // ------------------------------------------------------------------ inc/dec, stack, branches

  private cIncR(s: number): void {
    const a = this.dc[s + 4], r = a & 7;
    if (o32(a)) this.r32[r] = this.inc(this.r32[r], (0x80000000 | 0)); else this.r16[r * 2] = this.inc(this.r16[r * 2], 0x8000);
  }

  private cDecR(s: number): void {
    const a = this.dc[s + 4], r = a & 7;
    if (o32(a)) this.r32[r] = this.dec(this.r32[r], (0x80000000 | 0)); else this.r16[r * 2] = this.dec(this.r16[r * 2], 0x8000);
  }

  private cPushR(s: number): void {
    const a = this.dc[s + 4], r = a & 7;
    if (o32(a)) this.push32(this.r32[r]); else this.push16(this.r16[r * 2]);
  }

  private cPopR(s: number): void {
    const a = this.dc[s + 4], r = a & 7;
    if (o32(a)) { const v = this.pop32(); this.r32[r] = v; } else { const v = this.pop16(); this.r16[r * 2] = v; }
  }

  private cCall(s: number): void {
    const a = this.dc[s + 4];
    this.cPush(a, this.eip);
    this.cJump(a, this.eip + this.dc[s + 6]);
  }

  private cRet(s: number): void {
    const a = this.dc[s + 4];
    this.cJump(a, o32(a) ? this.pop32() : this.pop16());
  }

  private cCallE(s: number): void {
    const a = this.dc[s + 4];
    const t = this.cReadEV(s);
    this.cPush(a, this.eip);
    this.cJump(a, t);
  }

  // ------------------------------------------------------------------ read-modify-write groups

  private cShift8(s: number): void {
    const a = this.dc[s + 4];
    const count = ((a & 0x1000000 /* F_CL */) !== 0 ? this.r8[4] : this.dc[s + 6]) & 31;
    if (a & 0x200000 /* F_MEM */) {
      const lin = this.cLin(s, 1, true);
      this.probeWrite(lin, 1);
      const v = this.readU8(lin);
      if (count !== 0) this.writeU8(lin, this.shift(a & 7, v, count, 8));
    } else {
      const e = reg8Index((a >>> 8) & 7);
      if (count !== 0) this.r8[e] = this.shift(a & 7, this.r8[e], count, 8);
    }
  }

  private cShift(s: number): void {
    const a = this.dc[s + 4];
    const count = ((a & 0x1000000 /* F_CL */) !== 0 ? this.r8[4] : this.dc[s + 6]) & 31;
    if (a & 0x200000 /* F_MEM */) {
      const lin = this.cLin(s, o32(a) ? 4 : 2, true);
      if (o32(a)) {
        this.probeWrite(lin, 4);
        const v = this.readU32(lin);
        if (count !== 0) this.writeU32(lin, this.shift(a & 7, v, count, 32));
      } else {
        this.probeWrite(lin, 2);
        const v = this.readU16(lin);
        if (count !== 0) this.writeU16(lin, this.shift(a & 7, v, count, 16));
      }
    } else {
      const e = (a >>> 8) & 7;
      if (count === 0) return;
      if (o32(a)) this.r32[e] = this.shift(a & 7, this.r32[e], count, 32);
      else this.r16[e * 2] = this.shift(a & 7, this.r16[e * 2], count, 16);
    }
  }

  /** Reads the E operand for read-modify-write (writability probed first, as rmwE*). */
  private cRmwE8(s: number): number {
    const a = this.dc[s + 4];
    if (!(a & 0x200000 /* F_MEM */)) return this.r8[reg8Index((a >>> 8) & 7)];
    const lin = this.cLin(s, 1, true);
    this.probeWrite(lin, 1);
    return this.readU8(lin);
  }

  private cRmwEV(s: number): number {
    const a = this.dc[s + 4];
    if (!(a & 0x200000 /* F_MEM */)) return o32(a) ? this.r32[(a >>> 8) & 7] : this.r16[((a >>> 8) & 7) * 2];
    const lin = this.cLin(s, o32(a) ? 4 : 2, true);
    if (o32(a)) { this.probeWrite(lin, 4); return this.readU32(lin); }
    this.probeWrite(lin, 2);
    return this.readU16(lin);
  }

  private cNot8(s: number): void { this.cWriteE8(s, ~this.cRmwE8(s)); }
  private cNot(s: number): void { this.cWriteEV(s, ~this.cRmwEV(s)); }
  private cNeg8(s: number): void { this.cWriteE8(s, this.neg(this.cRmwE8(s), 0x80)); }
  private cNeg(s: number): void {
    const msb = o32(this.dc[s + 4]) ? (0x80000000 | 0) : 0x8000;
    this.cWriteEV(s, this.neg(this.cRmwEV(s), msb));
  }

  private cIncDecE8(s: number): void {
    const v = this.cRmwE8(s);
    const sub = (this.dc[s + 4] >>> 4) & 15;
    this.cWriteE8(s, sub === 0 ? this.inc(v, 0x80) : this.dec(v, 0x80));
  }

  private cIncDecE(s: number): void {
    const a = this.dc[s + 4];
    const v = this.cRmwEV(s);
    const msb = o32(a) ? (0x80000000 | 0) : 0x8000;
    this.cWriteEV(s, ((a >>> 4) & 15) === 0 ? this.inc(v, msb) : this.dec(v, msb));
  }

  // ------------------------------------------------------------------ 0F

  private cSetcc(s: number): void {
    this.cWriteE8(s, this.cond((this.dc[s + 4] >>> 4) & 15) ? 1 : 0);
  }

  private cCmov(s: number): void {
    const a = this.dc[s + 4];
    const v = this.cReadEV(s);
    if (this.cond((a >>> 4) & 15)) this.cSetRegV(a, v);
  }

  private cImulGE(s: number): void {
    const a = this.dc[s + 4], reg = a & 7;
    this.opsize32 = o32(a);
    const x = o32(a) ? this.r32[reg] : (this.r16[reg * 2] << 16) >> 16;
    const y = o32(a) ? this.cReadE32(s) : (this.cReadE16(s) << 16) >> 16;
    this.cSetRegV(a, this.imul2(x, y));
  }

  private cImulGEI(s: number): void {
    const a = this.dc[s + 4];
    this.opsize32 = o32(a);
    const src = o32(a) ? this.cReadE32(s) : (this.cReadE16(s) << 16) >> 16;
    this.cSetRegV(a, this.imul2(src, this.dc[s + 6]));
  }
}
