/**
 * RFB pixel formats (RFC 6143 section 7.4 "Pixel Format Data Structure") and the
 * conversion from the renderer's RGBA framebuffer into a client's true-colour format,
 * including ZRLE's compressed pixel CPIXEL (RFC 6143 section 7.7.6).
 *
 * Supported client formats: true colour, 8/16/32 bits per pixel, either byte order,
 * any max (2^n - 1) and shift that fit in the pixel. Left out: colour-map formats
 * (true-colour-flag 0; SetColourMapEntries is never sent), 24 bpp (not valid in RFB).
 */

/** The PIXEL_FORMAT structure (16 bytes on the wire, 3 of them padding). */
export interface PixelFormat {
  readonly bitsPerPixel: number;
  readonly depth: number;
  readonly bigEndian: boolean;
  readonly trueColour: boolean;
  readonly redMax: number;
  readonly greenMax: number;
  readonly blueMax: number;
  readonly redShift: number;
  readonly greenShift: number;
  readonly blueShift: number;
}

/**
 * The server's native format, announced in ServerInit: 32 bpp, depth 24, little-endian,
 * red in the lowest byte. Its bytes are exactly the renderer's RGBA bytes (the fourth
 * byte is padding), so Raw updates in this format are row copies. noVNC asks for the
 * same format.
 */
export const NATIVE_PIXEL_FORMAT: PixelFormat = Object.freeze({
  bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true,
  redMax: 255, greenMax: 255, blueMax: 255, redShift: 0, greenShift: 8, blueShift: 16,
});

/** Reads a PIXEL_FORMAT at `off` (no validation). */
export function readPixelFormat(b: Uint8Array, off: number): PixelFormat {
  return {
    bitsPerPixel: b[off]!,
    depth: b[off + 1]!,
    bigEndian: b[off + 2]! !== 0,
    trueColour: b[off + 3]! !== 0,
    redMax: (b[off + 4]! << 8) | b[off + 5]!,
    greenMax: (b[off + 6]! << 8) | b[off + 7]!,
    blueMax: (b[off + 8]! << 8) | b[off + 9]!,
    redShift: b[off + 10]!,
    greenShift: b[off + 11]!,
    blueShift: b[off + 12]!,
  };
}

/** Writes a PIXEL_FORMAT (16 bytes) at `off`. */
export function writePixelFormat(pf: PixelFormat, b: Uint8Array, off: number): void {
  b[off] = pf.bitsPerPixel;
  b[off + 1] = pf.depth;
  b[off + 2] = pf.bigEndian ? 1 : 0;
  b[off + 3] = pf.trueColour ? 1 : 0;
  b[off + 4] = pf.redMax >>> 8;
  b[off + 5] = pf.redMax & 0xff;
  b[off + 6] = pf.greenMax >>> 8;
  b[off + 7] = pf.greenMax & 0xff;
  b[off + 8] = pf.blueMax >>> 8;
  b[off + 9] = pf.blueMax & 0xff;
  b[off + 10] = pf.redShift;
  b[off + 11] = pf.greenShift;
  b[off + 12] = pf.blueShift;
  b[off + 13] = 0;
  b[off + 14] = 0;
  b[off + 15] = 0;
}

function bitsOf(max: number): number {
  return 32 - Math.clz32(max);
}

/** Why a client's pixel format is unusable, or null if it is supported. */
export function pixelFormatProblem(pf: PixelFormat): string | null {
  if (!pf.trueColour) return 'colour-map pixel formats are not supported (true-colour-flag is 0)';
  if (pf.bitsPerPixel !== 8 && pf.bitsPerPixel !== 16 && pf.bitsPerPixel !== 32) {
    return `bits-per-pixel ${pf.bitsPerPixel} is not 8, 16 or 32`;
  }
  if (pf.depth < 1 || pf.depth > pf.bitsPerPixel) return `depth ${pf.depth} does not fit ${pf.bitsPerPixel} bpp`;
  const channels: [string, number, number][] = [
    ['red', pf.redMax, pf.redShift], ['green', pf.greenMax, pf.greenShift], ['blue', pf.blueMax, pf.blueShift],
  ];
  for (const [name, max, shift] of channels) {
    if (max < 1 || (max & (max + 1)) !== 0) return `${name}-max ${max} is not 2^n - 1`;
    if (shift + bitsOf(max) > pf.bitsPerPixel) return `${name} (max ${max}, shift ${shift}) does not fit ${pf.bitsPerPixel} bpp`;
  }
  return null;
}

/** Whether two formats are the same on the wire. */
export function samePixelFormat(a: PixelFormat, b: PixelFormat): boolean {
  return a.bitsPerPixel === b.bitsPerPixel && a.depth === b.depth && a.bigEndian === b.bigEndian
    && a.trueColour === b.trueColour && a.redMax === b.redMax && a.greenMax === b.greenMax
    && a.blueMax === b.blueMax && a.redShift === b.redShift && a.greenShift === b.greenShift
    && a.blueShift === b.blueShift;
}

/**
 * Converts 0xBBGGRR colours (the renderer's RGBA read as a little-endian word, alpha
 * masked off) into a client's pixels. Lookup tables are built once per SetPixelFormat.
 */
export class PixelConverter {
  /** Bytes per PIXEL. */
  readonly bytesPerPixel: number;
  /** Bytes per ZRLE CPIXEL (3 for 32 bpp formats whose colour fits in 3 bytes). */
  readonly bytesPerCPixel: number;
  /** Offset of the CPIXEL's bytes inside the PIXEL's bytes. */
  private readonly cpixelOffset: number;
  /** The format is the native one: RGBA bytes can be copied as they are. */
  readonly isNative: boolean;
  private readonly rTab = new Uint32Array(256);
  private readonly gTab = new Uint32Array(256);
  private readonly bTab = new Uint32Array(256);

  constructor(readonly format: PixelFormat) {
    const problem = pixelFormatProblem(format);
    if (problem !== null) throw new RangeError(`PixelConverter: ${problem}`);
    this.bytesPerPixel = format.bitsPerPixel >>> 3;
    for (let v = 0; v < 256; v++) {
      this.rTab[v] = (Math.floor((v * format.redMax + 127) / 255) << format.redShift) >>> 0;
      this.gTab[v] = (Math.floor((v * format.greenMax + 127) / 255) << format.greenShift) >>> 0;
      this.bTab[v] = (Math.floor((v * format.blueMax + 127) / 255) << format.blueShift) >>> 0;
    }
    this.isNative = samePixelFormat(format, NATIVE_PIXEL_FORMAT);
    // RFC 6143 7.7.6: CPIXEL drops the unused byte of 32 bpp true-colour pixels of depth <= 24.
    let cbytes = this.bytesPerPixel;
    let coff = 0;
    if (format.bitsPerPixel === 32 && format.depth <= 24) {
      const used = ((format.redMax << format.redShift) | (format.greenMax << format.greenShift)
        | (format.blueMax << format.blueShift)) >>> 0;
      const fitsLow = (used & 0xff000000) === 0;
      const fitsHigh = (used & 0xff) === 0;
      if (fitsLow || fitsHigh) {
        cbytes = 3;
        // Little-endian: the low 3 bytes come first; big-endian: they come last.
        coff = fitsLow === !format.bigEndian ? 0 : 1;
      }
    }
    this.bytesPerCPixel = cbytes;
    this.cpixelOffset = coff;
  }

  /** The client pixel value of a 0xBBGGRR colour. */
  pixel(rgb: number): number {
    return (this.rTab[rgb & 0xff]! | this.gTab[(rgb >>> 8) & 0xff]! | this.bTab[(rgb >>> 16) & 0xff]!) >>> 0;
  }

  /** Writes the PIXEL of `rgb` at `off`; returns the next offset. */
  writePixel(rgb: number, out: Uint8Array, off: number): number {
    const v = this.pixel(rgb);
    switch (this.bytesPerPixel) {
      case 1:
        out[off] = v;
        return off + 1;
      case 2:
        if (this.format.bigEndian) { out[off] = v >>> 8; out[off + 1] = v; } else { out[off] = v; out[off + 1] = v >>> 8; }
        return off + 2;
      default:
        if (this.format.bigEndian) {
          out[off] = v >>> 24; out[off + 1] = v >>> 16; out[off + 2] = v >>> 8; out[off + 3] = v;
        } else {
          out[off] = v; out[off + 1] = v >>> 8; out[off + 2] = v >>> 16; out[off + 3] = v >>> 24;
        }
        return off + 4;
    }
  }

  /** Writes the CPIXEL of `rgb` at `off`; returns the next offset. */
  writeCPixel(rgb: number, out: Uint8Array, off: number): number {
    if (this.bytesPerCPixel !== 3) return this.writePixel(rgb, out, off);
    const v = this.pixel(rgb);
    // The 4 wire bytes of the PIXEL, of which bytes [cpixelOffset, cpixelOffset + 3) are sent.
    const b0 = this.format.bigEndian ? v >>> 24 : v;
    const b1 = this.format.bigEndian ? v >>> 16 : v >>> 8;
    const b2 = this.format.bigEndian ? v >>> 8 : v >>> 16;
    const b3 = this.format.bigEndian ? v : v >>> 24;
    if (this.cpixelOffset === 0) { out[off] = b0; out[off + 1] = b1; out[off + 2] = b2; } else {
      out[off] = b1; out[off + 1] = b2; out[off + 2] = b3;
    }
    return off + 3;
  }
}
