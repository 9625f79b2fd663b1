import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { encodePng } from './png.js';

describe('encodePng', () => {
  it('round-trips through the pngjs decoder', () => {
    const w = 37;
    const h = 11;
    const px = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < px.length; i++) px[i] = (i * 31 + (i >> 2)) & 0xff;
    const bytes = encodePng(px, w, h);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const decoded = PNG.sync.read(Buffer.from(bytes));
    expect([decoded.width, decoded.height]).toEqual([w, h]);
    expect(Buffer.compare(decoded.data, Buffer.from(px.buffer))).toBe(0);
  });

  it('rejects a buffer that does not match the size', () => {
    expect(() => encodePng(new Uint8Array(10), 2, 2)).toThrow(RangeError);
    expect(() => encodePng(new Uint8Array(0), 0, 0)).toThrow(RangeError);
  });
});
