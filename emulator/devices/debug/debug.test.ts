import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DebugCon } from './debugcon.js';
import { IsaDebugExit } from './isa-debug-exit.js';
import { PostPort } from './post-port.js';
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

describe('IsaDebugExit', () => {
  it('exits with (v << 1) | 1', () => {
    const codes: number[] = [];
    const d = new IsaDebugExit({ exit: (c) => codes.push(c), ioSize: 4 });
    outb(d.io, 0, 0);
    outb(d.io, 0, 0x10);
    d.io.write(0, 4, 0x80000000);
    expect(codes).toEqual([1, 0x21, 0x100000001]);
    expect(inb(d.io, 0)).toBe(0);
  });
  it('random accesses never throw; state round-trips', () => {
    fc.assert(fc.property(fc.array(accessArb(1, 4), { maxLength: 40 }), (seq) => {
      replay([{ h: new IsaDebugExit({ exit: () => {}, ioSize: 4 }).io, span: 1 }], seq);
    }), { numRuns: 50 });
    expectRoundTrip(new IsaDebugExit({ exit: () => {} }), new IsaDebugExit({ exit: () => {} }));
  });
});

describe('PostPort', () => {
  it('latches the last code and reports it', () => {
    const seen: number[] = [];
    const p = new PostPort({ onCode: (c) => seen.push(c) });
    outb(p.io, 0, 0x12);
    outb(p.io, 0, 0x34);
    expect(p.lastCode).toBe(0x34);
    expect(inb(p.io, 0)).toBe(0x34);
    expect(seen).toEqual([0x12, 0x34]);
    p.reset('hard');
    expect(p.lastCode).toBe(0);
  });
  it('random accesses never throw; state round-trips', () => {
    fc.assert(fc.property(fc.array(accessArb(1, 1), { maxLength: 40 }), (seq) => {
      const p = new PostPort();
      replay([{ h: p.io, span: 1 }], seq);
      expectRoundTrip(p, new PostPort());
    }), { numRuns: 50 });
    expect(() => new PostPort().loadState({ v: 1, lastCode: -1, writes: 0 })).toThrow();
  });
});
