/**
 * Per-connection accumulation of changed framebuffer areas between two updates
 * (RFC 6143 section 7.5.3: an incremental FramebufferUpdateRequest is answered with
 * what changed since the client's last update).
 *
 * A bitmap of 16x16-pixel cells: marking is O(cells covered) and memory is bounded
 * whatever the renderer reports. Rectangles are rebuilt from runs of dirty cells per
 * cell row, merged downwards when the run below has the same span.
 */

/** A rectangle in framebuffer pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Cell edge in pixels. */
export const DIRTY_CELL = 16;

/** Past this many rectangles an update sends their bounding box instead. */
const MAX_RECTS = 256;

/** The set of dirty cells of one connection. */
export class DirtyRegion {
  private cols = 0;
  private rows = 0;
  private width = 0;
  private height = 0;
  private cells = new Uint8Array(0);
  private count = 0;

  /** Resets to a framebuffer size; everything becomes clean. */
  resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.cols = Math.ceil(width / DIRTY_CELL);
    this.rows = Math.ceil(height / DIRTY_CELL);
    if (this.cells.length < this.cols * this.rows) this.cells = new Uint8Array(this.cols * this.rows);
    this.clear();
  }

  /** Marks a rectangle (clipped to the framebuffer). */
  mark(x: number, y: number, width: number, height: number): void {
    const x0 = Math.max(0, Math.floor(x / DIRTY_CELL));
    const y0 = Math.max(0, Math.floor(y / DIRTY_CELL));
    const x1 = Math.min(this.cols, Math.ceil((x + width) / DIRTY_CELL));
    const y1 = Math.min(this.rows, Math.ceil((y + height) / DIRTY_CELL));
    for (let r = y0; r < y1; r++) {
      for (let c = x0; c < x1; c++) {
        const i = r * this.cols + c;
        if (this.cells[i] === 0) { this.cells[i] = 1; this.count++; }
      }
    }
  }

  /** Marks everything. */
  markAll(): void {
    this.mark(0, 0, this.width, this.height);
  }

  /** Whether nothing is dirty. */
  get isEmpty(): boolean {
    return this.count === 0;
  }

  /** Forgets all dirty cells. */
  clear(): void {
    this.cells.fill(0, 0, this.cols * this.rows);
    this.count = 0;
  }

  /**
   * Removes and returns the dirty cells that intersect `area`, as rectangles clipped to
   * the framebuffer (whole cells, so they may extend beyond `area`).
   */
  take(area: Rect): Rect[] {
    const out: Rect[] = [];
    if (this.count === 0 || area.width <= 0 || area.height <= 0) return out;
    const cx0 = Math.max(0, Math.floor(area.x / DIRTY_CELL));
    const cy0 = Math.max(0, Math.floor(area.y / DIRTY_CELL));
    const cx1 = Math.min(this.cols, Math.ceil((area.x + area.width) / DIRTY_CELL));
    const cy1 = Math.min(this.rows, Math.ceil((area.y + area.height) / DIRTY_CELL));
    let open: { c0: number; c1: number; rect: Rect }[] = [];
    for (let r = cy0; r < cy1; r++) {
      const next: { c0: number; c1: number; rect: Rect }[] = [];
      let c = cx0;
      while (c < cx1) {
        if (this.cells[r * this.cols + c] === 0) { c++; continue; }
        const c0 = c;
        while (c < cx1 && this.cells[r * this.cols + c] !== 0) {
          this.cells[r * this.cols + c] = 0;
          this.count--;
          c++;
        }
        const prev = open.find((o) => o.c0 === c0 && o.c1 === c);
        if (prev !== undefined) {
          prev.rect.height = Math.min(this.height, (r + 1) * DIRTY_CELL) - prev.rect.y;
          next.push(prev);
        } else {
          const rect = {
            x: c0 * DIRTY_CELL, y: r * DIRTY_CELL,
            width: Math.min(this.width, c * DIRTY_CELL) - c0 * DIRTY_CELL,
            height: Math.min(this.height, (r + 1) * DIRTY_CELL) - r * DIRTY_CELL,
          };
          out.push(rect);
          next.push({ c0, c1: c, rect });
        }
      }
      open = next;
    }
    if (out.length <= MAX_RECTS) return out;
    let x0 = Infinity, y0 = Infinity, x1 = 0, y1 = 0;
    for (const r of out) {
      x0 = Math.min(x0, r.x); y0 = Math.min(y0, r.y);
      x1 = Math.max(x1, r.x + r.width); y1 = Math.max(y1, r.y + r.height);
    }
    return [{ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }];
  }
}
