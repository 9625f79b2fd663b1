import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DebugCon } from './debugcon.js';
import { inb, outb } from '../../test-support/fakes.js';
import { accessArb, expectRoundTrip, replay } from '../../test-support/device-harness.js';

describe('DebugCon', () => {
  it('writes bytes to the sink and reads back 0xe9', () => {
    const out: number[] = [];
    const d = new DebugCon({ sink: (b) => out.push(b) });
    for (const c of 'hi\n') outb(d.io, 0, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('hi\n');
    expect(inb(d.io, 0)).toBe(0xe9);
    expect(inb(new DebugCon({ sink: () => {}, readback: 0x12 }).io, 0)).toBe(0x12);
  });
  it('random accesses never throw; state round-trips', () => {
    fc.assert(fc.property(fc.array(accessArb(1, 1), { maxLength: 40 }), (seq) => {
      replay([{ h: new DebugCon({ sink: () => {} }).io, span: 1 }], seq);
    }), { numRuns: 50 });
    expectRoundTrip(new DebugCon({ sink: () => {} }), new DebugCon({ sink: () => {} }));
  });
});
