/**
 * Basic blocks of decoded instructions: the records of decode-cache.ts for a run of
 * consecutive instructions on one code page, stored one after the other in an arena, so
 * the hot loop (exec-cached.ts) steps from one record to the next (`s += DC_STRIDE`)
 * instead of hashing and tag-checking every instruction's backing offset.
 *
 * A block starts at any backing offset the loop is asked to run from, and ends after an
 * unconditional control transfer (JMP, CALL, RET, indirect CALL/JMP), after a record the
 * loop cannot run itself (OP_LEGACY: run through the fetch-and-decode path), before the end
 * of the page, or at `MAX_BLOCK` instructions. Conditional jumps stay inside: the loop
 * leaves the block when one is taken. Blocks are found through a direct-mapped directory
 * keyed by their start offset and are valid under the same rule as single records: the
 * page generation in `CodeWatch` and CS.D at decode time (`(pageGen << 1) | CS.D`).
 * The arena is a bump allocator; when it is full, every block is dropped at once.
 */
import { DC_LEN, DC_OP, DC_STRIDE, DC_GEN, DC_TAG, OP_CALL, OP_CALL_E, OP_JMP, OP_JMP_E, OP_LEGACY, OP_RET, OP_RET_I, decodeInstr } from './decode-cache.js';

/** Directory entries (a power of two). */
export const BLOCK_ENTRIES = 1 << 15;
/** Most instructions in one block. */
export const MAX_BLOCK = 64;

/** Directory entry of the block starting at backing offset `off`. */
export function blockSlot(off: number): number {
  // Literal mask (BLOCK_ENTRIES - 1): V8 inlines this into the hot loop.
  return (off ^ (off >>> 15)) & 0x7fff;
}

/** Whether a record with handler `op` is the last of its block. */
function endsBlock(op: number): boolean {
  return op === OP_LEGACY || op === OP_JMP || op === OP_CALL || op === OP_RET || op === OP_RET_I ||
    op === OP_CALL_E || op === OP_JMP_E;
}

/** The block directory and the record arena of one CPU. */
export class BlockCache {
  /** Per entry: backing offset of the block's first instruction (-1 = empty). */
  readonly tag = new Int32Array(BLOCK_ENTRIES).fill(-1);
  /** Per entry: `(pageGen << 1) | CS.D` when the block was decoded. */
  readonly gen = new Int32Array(BLOCK_ENTRIES);
  /** Per entry: word index in the arena of the first record. */
  readonly start = new Int32Array(BLOCK_ENTRIES);
  /** Per entry: number of records. */
  readonly count = new Int32Array(BLOCK_ENTRIES);
  /** Next free word of the arena. */
  private top = 0;

  /** @param arena the record store (`DC_STRIDE` words per record) */
  constructor(readonly arena: Int32Array) {}

  /** Drops every block. */
  flush(): void {
    this.tag.fill(-1);
    this.top = 0;
  }

  /**
   * Decodes the block starting at byte offset `off` of `u8` for default operand size
   * `def32` into directory entry `e`, valid for generation word `gen`.
   */
  build(e: number, u8: Uint8Array, off: number, def32: boolean, gen: number): void {
    const c = this.arena;
    if (this.top + MAX_BLOCK * DC_STRIDE > c.length) this.flush();
    const first = this.top;
    const page = off >>> 12;
    let s = first, p = off, n = 0;
    for (;;) {
      decodeInstr(u8, p, def32, c, s);
      c[s + DC_TAG] = p;
      c[s + DC_GEN] = gen;
      const op = c[s + DC_OP];
      p += c[s + DC_LEN];
      s += DC_STRIDE;
      n++;
      if (endsBlock(op) || n === MAX_BLOCK || (p >>> 12) !== page) break;
    }
    this.top = s;
    this.tag[e] = off;
    this.gen[e] = gen;
    this.start[e] = first;
    this.count[e] = n;
  }
}
