import { describe, expect, it } from 'vitest';
import { InputMapper, type InputSink } from './input.js';

function sink(absolute: boolean): InputSink & { moves: number[][]; abs: number[][] } {
  const s = {
    moves: [] as number[][],
    abs: [] as number[][],
    keyDown: () => {},
    keyUp: () => {},
    mouseMove: (dx: number, dy: number, b: number, w: number) => { s.moves.push([dx, dy, b, w]); },
    pointerAbsolute: (x: number, y: number, w: number, h: number, mask: number, last: number) => {
      if (!absolute) return false;
      s.abs.push([x, y, w, h, mask, last]);
      return true;
    },
  };
  return s;
}

describe('RFB pointer to an absolute device', () => {
  it('hands positions to the tablet as they are while the guest drives it', () => {
    const s = sink(true);
    const m = new InputMapper(s, () => {});
    m.pointerEvent(0, 10, 20, 800, 600);
    m.pointerEvent(1, 500, 300, 800, 600);
    expect(s.abs).toEqual([[10, 20, 800, 600, 0, 0], [500, 300, 800, 600, 1, 0]]);
    expect(s.moves).toEqual([]);
  });

  it('falls back to relative PS/2 motion without a tablet driver (or without a screen size)', () => {
    const s = sink(false);
    const m = new InputMapper(s, () => {});
    m.pointerEvent(0, 10, 20, 800, 600);
    m.pointerEvent(0, 15, 18, 800, 600);
    expect(s.moves).toEqual([[5, -2, 0, 0]]);
    const t = sink(true);
    const n = new InputMapper(t, () => {});
    n.pointerEvent(0, 1, 1);
    n.pointerEvent(0, 2, 3);
    expect(t.abs).toEqual([]);
    expect(t.moves).toEqual([[1, 2, 0, 0]]);
  });
});
