/**
 * IBM VGA register file: sequencer, CRT controller, graphics controller, attribute
 * controller, DAC, miscellaneous output, feature control and the input status registers,
 * as seen through ports 0x3B0-0x3DF (offset = port - 0x3B0).
 *
 * Follows the IBM VGA Technical Reference ("Registers" chapter): index/data pairs,
 * the attribute controller's index/data flip-flop (reset by reading input status 1),
 * CR11 bit 7 write protection of CR00-CR07 (CR07 bit 4 stays writable), the DAC's
 * read/write indices with three-step component sequencing, and the monochrome/colour
 * decode of 0x3Bx/0x3Dx by misc output bit 0 (the inactive block reads 0xFF).
 * Register write masks follow QEMU's vga.c so that read-back matches what guests expect.
 *
 * Left out: the video subsystem enable port's effect (0x3C3 and 0x46E8 are stored, never
 * acted on), light pen, CRTC timing beyond what the renderer needs, palette write
 * protection while the attribute index has PAS set (QEMU accepts the writes too).
 *
 * Retrace: input status 1 reports vertical retrace (bit 3) and display-disabled (bit 0)
 * from the injected clock, as a 70 Hz frame with 31.5 kHz lines. If a guest polls the
 * register while virtual time does not move, the bits toggle after a few reads so that
 * retrace-wait loops always finish (the same idea as QEMU's "dumb" retrace).
 */
import type { Clock } from '../../time/clock.js';
import {
  AR_COUNT, AR_INDEX_PAS, CR11_PROTECT, CR_OVERFLOW, CR_V_RETRACE_END, GR_MASK,
  OFS_ATTR_DATA_READ, OFS_ATTR_INDEX, OFS_CRTC_DATA_COLOR, OFS_CRTC_DATA_MONO,
  OFS_CRTC_INDEX_COLOR, OFS_CRTC_INDEX_MONO, OFS_DAC_DATA, OFS_DAC_MASK, OFS_DAC_READ_INDEX,
  OFS_DAC_WRITE_INDEX, OFS_FEATURE_READ, OFS_GC_DATA, OFS_GC_INDEX, OFS_MISC_READ,
  OFS_MISC_WRITE, OFS_SEQ_DATA, OFS_SEQ_INDEX, OFS_STATUS1_COLOR, OFS_STATUS1_MONO,
  OFS_VIDEO_ENABLE, SR_MASK,
} from './vga-constants.js';

/** Length of one video frame in virtual ns (70 Hz, the VGA's 400-line rate). */
export const VGA_FRAME_NS = Math.round(1e9 / 70);
/** Length of one scan line in virtual ns (31.469 kHz). */
const LINE_NS = 31_778;
/** Vertical retrace lasts 2 of 449 lines; we report a slightly wider window. */
const VRETRACE_NS = 4 * LINE_NS;
/** Horizontal blanking share of a line. */
const HBLANK_NS = 6_000;
/** Status reads at an unchanged virtual time before the bits start toggling. */
const STUCK_READS = 16;

/** Status 1 bit 0: display disabled (horizontal or vertical blanking). */
const ST1_DISPLAY_DISABLED = 0x01;
/** Status 1 bit 3: vertical retrace. */
const ST1_VRETRACE = 0x08;

/** Writable bits of attribute registers 0x10-0x14 (palette entries keep 6 bits). */
const AR_MASK: readonly number[] = [
  0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
  0xef, 0xff, 0x3f, 0x0f, 0x0f,
];

/**
 * The VGA register state plus the port logic. Fields are public so that the memory
 * path and the renderer can read them without copies; only this class, the memory
 * path (latches) and the Bochs VBE block (mode compatibility values) write them.
 */
export class VgaRegisters {
  /** Misc output register (0x3C2 write / 0x3CC read). */
  misc = 0;
  /** Feature control (0x3BA/0x3DA write, 0x3CA read). */
  featureControl = 0;
  /** Video subsystem enable (0x3C3), stored only. */
  videoEnable = 0;
  /** Sequencer index. */
  seqIndex = 0;
  /** Sequencer registers SR00-SR07. */
  readonly seq = new Uint8Array(8);
  /** Graphics controller index. */
  gcIndex = 0;
  /** Graphics controller registers GR00-GR0F (GR00-GR08 defined). */
  readonly gr = new Uint8Array(16);
  /** CRTC index (all 8 bits kept, as QEMU). */
  crtcIndex = 0;
  /** CRTC registers; CR00-CR18 are defined, the rest store what is written. */
  readonly crtc = new Uint8Array(256);
  /** Attribute controller index including bit 5 (PAS). */
  attrIndex = 0;
  /** Attribute flip-flop: false = next 0x3C0 write is an index, true = data. */
  attrFlipFlop = false;
  /** Attribute registers AR00-AR14. */
  readonly attr = new Uint8Array(AR_COUNT);
  /** DAC pixel mask (0x3C6). */
  dacMask = 0xff;
  /** DAC read index (0x3C7 write). */
  dacReadIndex = 0;
  /** DAC write index (0x3C8). */
  dacWriteIndex = 0;
  /** Component (0-2) of the next DAC data access. */
  dacSub = 0;
  /** DAC state as read at 0x3C7: 0 after a write index, 3 after a read index. */
  dacState = 0;
  /** Components collected for the entry being written. */
  readonly dacCache = new Uint8Array(3);
  /** 256 RGB entries as written (6 bits significant unless 8-bit DAC mode). */
  readonly dac = new Uint8Array(768);
  /** DAC in 8-bit mode (set by the Bochs VBE ENABLE register). */
  dac8bit = false;
  /** The four plane latches as one little-endian word (plane n in bits 8n..8n+7). */
  latch = 0;
  /** Virtual time of the previous status read, for the stuck-clock fallback. */
  statusLastNs = -1;
  /** Consecutive status reads at statusLastNs. */
  statusSameReads = 0;
  /** Toggle used once the clock is seen stuck. */
  statusToggle = false;
  /**
   * Incremented on every register write that can change the picture. The renderer
   * compares it to skip work; it is not part of the saved state.
   */
  generation = 0;
  /** Guest accesses that did nothing (ports of the inactive mono/colour block). */
  ignoredAccesses = 0;

  constructor(private readonly clock: Clock) {}

  /** Clears every register (power-on and hard reset). */
  reset(): void {
    this.misc = 0;
    this.featureControl = 0;
    this.videoEnable = 0;
    this.seqIndex = 0;
    this.seq.fill(0);
    this.gcIndex = 0;
    this.gr.fill(0);
    this.crtcIndex = 0;
    this.crtc.fill(0);
    this.attrIndex = 0;
    this.attrFlipFlop = false;
    this.attr.fill(0);
    this.dacMask = 0xff;
    this.dacReadIndex = 0;
    this.dacWriteIndex = 0;
    this.dacSub = 0;
    this.dacState = 0;
    this.dacCache.fill(0);
    this.dac.fill(0);
    this.dac8bit = false;
    this.latch = 0;
    this.statusLastNs = -1;
    this.statusSameReads = 0;
    this.statusToggle = false;
    this.generation++;
  }

  /** True when misc output bit 0 selects colour decode (0x3Dx). */
  get colorDecode(): boolean {
    return (this.misc & 1) !== 0;
  }

  /** Reads one port byte at `offset` (port - 0x3B0). */
  readPort(offset: number): number {
    switch (offset) {
      case OFS_ATTR_INDEX:
        return this.attrIndex;
      case OFS_ATTR_DATA_READ: {
        const i = this.attrIndex & 0x1f;
        return i < AR_COUNT ? this.attr[i]! : 0;
      }
      case OFS_MISC_WRITE:
        return 0; // input status 0: no switch sense, no CRT interrupt
      case OFS_VIDEO_ENABLE:
        return this.videoEnable;
      case OFS_SEQ_INDEX:
        return this.seqIndex;
      case OFS_SEQ_DATA:
        return this.seq[this.seqIndex & 7]!;
      case OFS_DAC_MASK:
        return this.dacMask;
      case OFS_DAC_READ_INDEX:
        return this.dacState;
      case OFS_DAC_WRITE_INDEX:
        return this.dacWriteIndex;
      case OFS_DAC_DATA: {
        const v = this.dac[this.dacReadIndex * 3 + this.dacSub]!;
        if (++this.dacSub === 3) {
          this.dacSub = 0;
          this.dacReadIndex = (this.dacReadIndex + 1) & 0xff;
        }
        return this.dac8bit ? v : v & 0x3f;
      }
      case OFS_FEATURE_READ:
        return this.featureControl;
      case OFS_MISC_READ:
        return this.misc;
      case OFS_GC_INDEX:
        return this.gcIndex;
      case OFS_GC_DATA:
        return this.gr[this.gcIndex & 0x0f]!;
      case OFS_CRTC_INDEX_MONO:
      case OFS_CRTC_INDEX_COLOR:
        if (!this.decodes(offset)) return this.ignored();
        return this.crtcIndex;
      case OFS_CRTC_DATA_MONO:
      case OFS_CRTC_DATA_COLOR:
        if (!this.decodes(offset)) return this.ignored();
        return this.crtc[this.crtcIndex]!;
      case OFS_STATUS1_MONO:
      case OFS_STATUS1_COLOR:
        if (!this.decodes(offset)) return this.ignored();
        this.attrFlipFlop = false;
        return this.inputStatus1();
      default:
        return 0xff;
    }
  }

  /** Writes one port byte at `offset` (port - 0x3B0). */
  writePort(offset: number, value: number): void {
    value &= 0xff;
    this.generation++;
    switch (offset) {
      case OFS_ATTR_INDEX:
        if (!this.attrFlipFlop) {
          this.attrIndex = value & 0x3f;
        } else {
          const i = this.attrIndex & 0x1f;
          if (i < AR_COUNT) this.attr[i] = value & AR_MASK[i]!;
        }
        this.attrFlipFlop = !this.attrFlipFlop;
        return;
      case OFS_MISC_WRITE:
        this.misc = value & ~0x10 & 0xff;
        return;
      case OFS_VIDEO_ENABLE:
        this.videoEnable = value & 1;
        return;
      case OFS_SEQ_INDEX:
        this.seqIndex = value & 7;
        return;
      case OFS_SEQ_DATA:
        this.seq[this.seqIndex] = value & SR_MASK[this.seqIndex]!;
        return;
      case OFS_DAC_MASK:
        this.dacMask = value;
        return;
      case OFS_DAC_READ_INDEX:
        this.dacReadIndex = value;
        this.dacSub = 0;
        this.dacState = 3;
        return;
      case OFS_DAC_WRITE_INDEX:
        this.dacWriteIndex = value;
        this.dacSub = 0;
        this.dacState = 0;
        return;
      case OFS_DAC_DATA:
        this.dacCache[this.dacSub] = value;
        if (++this.dacSub === 3) {
          this.dac.set(this.dacCache, this.dacWriteIndex * 3);
          this.dacSub = 0;
          this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff;
        }
        return;
      case OFS_GC_INDEX:
        this.gcIndex = value & 0x0f;
        return;
      case OFS_GC_DATA:
        if (this.gcIndex < GR_MASK.length) this.gr[this.gcIndex] = value & GR_MASK[this.gcIndex]!;
        return;
      case OFS_CRTC_INDEX_MONO:
      case OFS_CRTC_INDEX_COLOR:
        if (!this.decodes(offset)) { this.ignoredAccesses++; return; }
        this.crtcIndex = value;
        return;
      case OFS_CRTC_DATA_MONO:
      case OFS_CRTC_DATA_COLOR:
        if (!this.decodes(offset)) { this.ignoredAccesses++; return; }
        this.writeCrtc(value);
        return;
      case OFS_STATUS1_MONO:
      case OFS_STATUS1_COLOR:
        if (!this.decodes(offset)) { this.ignoredAccesses++; return; }
        this.featureControl = value & 0x03;
        return;
      default:
        this.ignoredAccesses++;
        return;
    }
  }

  private writeCrtc(value: number): void {
    const i = this.crtcIndex;
    if ((this.crtc[CR_V_RETRACE_END]! & CR11_PROTECT) !== 0 && i <= CR_OVERFLOW) {
      // CR00-CR07 are locked; only the line compare bit 8 in CR07 gets through.
      if (i === CR_OVERFLOW) this.crtc[i] = (this.crtc[i]! & ~0x10) | (value & 0x10);
      return;
    }
    this.crtc[i] = value;
  }

  /** Whether `offset` belongs to the block (mono 0x3Bx / colour 0x3Dx) misc bit 0 enables. */
  private decodes(offset: number): boolean {
    return offset >= 0x20 ? this.colorDecode : !this.colorDecode;
  }

  private ignored(): number {
    this.ignoredAccesses++;
    return 0xff;
  }

  private inputStatus1(): number {
    const now = this.clock.nowNs();
    if (now === this.statusLastNs) {
      if (this.statusSameReads < STUCK_READS) this.statusSameReads++;
    } else {
      this.statusLastNs = now;
      this.statusSameReads = 0;
    }
    let v = 0;
    if (this.statusSameReads >= STUCK_READS) {
      // Virtual time is not moving while the guest polls: toggle so loops finish.
      this.statusToggle = !this.statusToggle;
      if (this.statusToggle) v |= ST1_VRETRACE | ST1_DISPLAY_DISABLED;
    } else {
      const inFrame = now % VGA_FRAME_NS;
      const vretrace = inFrame < VRETRACE_NS;
      const hblank = inFrame % LINE_NS >= LINE_NS - HBLANK_NS;
      if (vretrace) v |= ST1_VRETRACE | ST1_DISPLAY_DISABLED;
      else if (hblank) v |= ST1_DISPLAY_DISABLED;
    }
    return v;
  }

  /** Display enabled through the attribute index PAS bit and SR01 screen-off bit. */
  get displayEnabled(): boolean {
    return (this.attrIndex & AR_INDEX_PAS) !== 0 && (this.seq[1]! & 0x20) === 0;
  }
}
