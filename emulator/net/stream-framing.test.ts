import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeStreamFrame, StreamFrameDecoder } from './stream-framing.js';

describe('QEMU stream framing', () => {
  it('reassembles frames split at any byte boundary', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 80 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
      (frames, cuts) => {
        const stream = Buffer.concat(frames.map(encodeStreamFrame));
        const d = new StreamFrameDecoder(1000);
        const got: Uint8Array[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          got.push(...d.push(stream.subarray(at, at + n)));
          at += n;
        }
        expect(got.map((f) => [...f])).toEqual(frames.map((f) => [...f]));
        expect(d.bufferedBytes).toBe(0);
      }), { numRuns: 100 });
  });

  it('stops on an impossible length', () => {
    const d = new StreamFrameDecoder(100);
    expect(d.push(Uint8Array.of(0, 0, 1, 0, 1, 2))).toEqual([]);
    expect(d.error).toMatch(/256/);
    expect(d.push(encodeStreamFrame(Uint8Array.of(1)))).toEqual([]);
  });
});
