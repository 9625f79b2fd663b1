/**
 * PNG encoding of an RGBA framebuffer with pngjs (pure: bytes in, bytes out; the caller
 * writes the file). PNG per ISO/IEC 15948: 8-bit RGBA, no interlace. pngjs uses Node's
 * zlib internally, so this runs where Node does (the worker, the CLI), not in a browser.
 */
import { PNG } from 'pngjs';

/**
 * Encodes `pixels` (width * height * 4 bytes, RGBA) as PNG.
 * Throws a RangeError if the buffer does not match the size (a host bug).
 */
export function encodePng(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: bad size ${width}x${height}`);
  }
  if (pixels.length !== width * height * 4) {
    throw new RangeError(`encodePng: ${pixels.length} bytes given for ${width}x${height} RGBA (${width * height * 4} expected)`);
  }
  const png = new PNG({ width, height, colorType: 6, inputColorType: 6, bitDepth: 8 });
  png.data.set(pixels);
  const out = PNG.sync.write(png, { colorType: 6, inputColorType: 6, bitDepth: 8 });
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
