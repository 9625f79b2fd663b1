import { constants, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { zlibDeflateFactory } from './rfb-zlib.js';

describe('zlibDeflateFactory', () => {
  it('produces one continuous zlib stream across flushes (history beyond 32 KiB)', () => {
    const stream = zlibDeflateFactory(6)();
    const inputs: Buffer[] = [];
    const outputs: Buffer[] = [];
    let s = 7;
    for (const size of [100, 5000, 40_000, 3, 33_000, 1200]) {
      const chunk = Buffer.alloc(size);
      for (let i = 0; i < size; i++) {
        s = (s * 1103515245 + 12345) >>> 0;
        chunk[i] = i % 3 === 0 ? s >>> 24 : (i >> 4) & 0xff; // half noise, half repeats
      }
      inputs.push(chunk);
      expect(stream.push(chunk.subarray(0, 10), false)).toHaveLength(0);
      outputs.push(Buffer.from(stream.push(chunk.subarray(10), true)));
      // Everything pushed so far decodes from the concatenated output.
      const decoded = inflateSync(Buffer.concat(outputs), { finishFlush: constants.Z_SYNC_FLUSH });
      expect(decoded.equals(Buffer.concat(inputs))).toBe(true);
    }
    expect(outputs[0]!.subarray(0, 2)).toEqual(Buffer.from([0x78, 0x9c]));
  });
});
