import { describe, expect, it } from 'vitest';
import { DirtyRegion } from './dirty-region.js';
import { keysymToScancode, qemuKeycodeToScancode } from './keysym-map.js';

describe('DirtyRegion', () => {
  it('merges cells into rectangles, clips to the framebuffer and clears what it returns', () => {
    const d = new DirtyRegion();
    d.resize(100, 50);
    d.mark(0, 0, 20, 20); // cells (0..1, 0..1)
    d.mark(90, 40, 50, 50); // bottom-right corner, clipped
    expect(d.take({ x: 0, y: 0, width: 100, height: 50 })).toEqual([
      { x: 0, y: 0, width: 32, height: 32 },
      { x: 80, y: 32, width: 20, height: 18 },
    ]);
    expect(d.isEmpty).toBe(true);
  });

  it('takes only the cells intersecting the requested area', () => {
    const d = new DirtyRegion();
    d.resize(64, 64);
    d.markAll();
    expect(d.take({ x: 0, y: 0, width: 10, height: 10 })).toEqual([{ x: 0, y: 0, width: 16, height: 16 }]);
    expect(d.isEmpty).toBe(false);
  });

  it('falls back to the bounding box for very fragmented regions', () => {
    const d = new DirtyRegion();
    d.resize(1024, 1024);
    for (let y = 0; y < 1024; y += 32) for (let x = 0; x < 1024; x += 32) d.mark(x, y, 1, 1);
    expect(d.take({ x: 0, y: 0, width: 1024, height: 1024 })).toEqual([{ x: 0, y: 0, width: 1008, height: 1008 }]);
  });
});

describe('key maps', () => {
  it('keysyms (US layout) and QEMU keycodes', () => {
    expect(keysymToScancode(0x7a)).toBe(0x2c); // z
    expect(keysymToScancode(0x40)).toBe(0x03); // @ on the 2 key
    expect(keysymToScancode(0xffc9)).toBe(0x58); // F12
    expect(keysymToScancode(0xe9)).toBeUndefined(); // eacute: no US key
    expect(qemuKeycodeToScancode(0x1c)).toBe(0x1c);
    expect(qemuKeycodeToScancode(0x9d)).toBe(0xe01d); // right Ctrl
    expect(qemuKeycodeToScancode(0xb7)).toBe(0xe037); // Print Screen
    expect(qemuKeycodeToScancode(0)).toBeUndefined();
    expect(qemuKeycodeToScancode(0x1e0)).toBeUndefined();
  });
});
