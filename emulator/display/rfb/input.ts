/**
 * RFB input -> PC keyboard and PS/2 mouse (RFC 6143 sections 7.5.4 KeyEvent and 7.5.5
 * PointerEvent; community RFB spec "QEMU Extended Key Event Message").
 *
 * Keys: see keysym-map.ts for the tables. A key released is released with the code it
 * was pressed with (the keysym of a release can differ, e.g. Shift let go first), and
 * everything still held is released when the connection ends (no stuck keys).
 *
 * Pointer: RFB positions are absolute, the PS/2 mouse is relative. Each PointerEvent
 * moves by the difference to the previous event's position, clamped to +-255 counts
 * per axis (the 9-bit range of one PS/2 packet); the first event only sets the origin.
 * The guest applies its own acceleration, so its cursor drifts from the client's: an
 * absolute device (USB tablet) is the real fix. Buttons: RFB mask bit 0 left, 1 middle,
 * 2 right become PS/2 bits 0 left, 2 middle, 1 right; bits 3/4 (wheel up/down, sent as
 * a press then a release) count one wheel click per press (-1 up, +1 down); bits 5/6
 * (horizontal wheel) are ignored.
 */
import { keysymToScancode, qemuKeycodeToScancode } from './keysym-map.js';

/** Where input goes: the i8042 (`keyDown`/`keyUp` take set-1 codes, 0xE0xx extended). */
export interface InputSink {
  keyDown(code: number): void;
  keyUp(code: number): void;
  /** Relative motion (dy positive down), buttons (bit 0 L, 1 R, 2 M), wheel (negative up). */
  mouseMove(dx: number, dy: number, buttons: number, wheel: number): void;
  /**
   * An absolute pointing device (virtio tablet) takes the RFB position as it is: (`x`, `y`)
   * on a `width` x `height` screen, RFB button masks now and before. Returns false when no
   * absolute device is in use by the guest (no driver): the PS/2 mouse path is used then.
   */
  pointerAbsolute?(x: number, y: number, width: number, height: number, mask: number, lastMask: number): boolean;
}

/** Largest motion per axis forwarded for one PointerEvent. */
export const MAX_POINTER_DELTA = 255;

/** Per-connection keyboard and pointer state. */
export class InputMapper {
  /** keysym -> code it was pressed with (KeyEvent path). */
  private readonly keysymDown = new Map<number, number>();
  /** Codes currently held. */
  private readonly codesDown = new Set<number>();
  private lastX = -1;
  private lastY = -1;
  private lastMask = 0;

  /**
   * @param sink the machine's input, or undefined for a view-only display
   * @param log called for keys that cannot be mapped
   */
  constructor(private readonly sink: InputSink | undefined, private readonly log: (message: string) => void) {}

  /** RFB KeyEvent. */
  keyEvent(down: boolean, keysym: number): void {
    if (down) {
      const code = keysymToScancode(keysym);
      if (code === undefined) {
        this.log(`no US-layout key for keysym 0x${keysym.toString(16)}; ignored`);
        return;
      }
      this.keysymDown.set(keysym, code);
      this.press(code);
    } else {
      const code = this.keysymDown.get(keysym) ?? keysymToScancode(keysym);
      this.keysymDown.delete(keysym);
      if (code !== undefined) this.release(code);
    }
  }

  /** QEMU Extended Key Event: the raw keycode wins, the keysym is the fallback. */
  extendedKeyEvent(down: boolean, keysym: number, keycode: number): void {
    const code = qemuKeycodeToScancode(keycode);
    if (code === undefined) {
      this.keyEvent(down, keysym);
      return;
    }
    if (down) this.press(code); else this.release(code);
  }

  /**
   * RFB PointerEvent (absolute position, button mask) on a `width` x `height` screen: to the
   * absolute device when the guest drives one, else as relative PS/2 motion.
   */
  pointerEvent(mask: number, x: number, y: number, width = 0, height = 0): void {
    if (width > 0 && height > 0 && this.sink?.pointerAbsolute?.(x, y, width, height, mask, this.lastMask)) {
      this.lastX = x;
      this.lastY = y;
      this.lastMask = mask;
      return;
    }
    let dx = 0;
    let dy = 0;
    if (this.lastX >= 0) {
      dx = Math.max(-MAX_POINTER_DELTA, Math.min(MAX_POINTER_DELTA, x - this.lastX));
      dy = Math.max(-MAX_POINTER_DELTA, Math.min(MAX_POINTER_DELTA, y - this.lastY));
    }
    this.lastX = x;
    this.lastY = y;
    const pressed = mask & ~this.lastMask;
    const wheel = ((pressed & 0x10) !== 0 ? 1 : 0) - ((pressed & 0x08) !== 0 ? 1 : 0);
    const buttonsChanged = ((mask ^ this.lastMask) & 0x07) !== 0;
    this.lastMask = mask;
    if (dx === 0 && dy === 0 && wheel === 0 && !buttonsChanged) return;
    this.sink?.mouseMove(dx, dy, ps2Buttons(mask), wheel);
  }

  /** Releases every key and button still held (the connection is going away). */
  releaseAll(): void {
    for (const code of this.codesDown) this.sink?.keyUp(code);
    this.codesDown.clear();
    this.keysymDown.clear();
    if ((this.lastMask & 0x07) !== 0) this.sink?.mouseMove(0, 0, 0, 0);
    this.lastMask = 0;
  }

  private press(code: number): void {
    this.codesDown.add(code);
    this.sink?.keyDown(code); // a repeated press is the client's autorepeat: typematic
  }

  private release(code: number): void {
    if (!this.codesDown.delete(code)) return; // not held (released already, or never pressed here)
    this.sink?.keyUp(code);
  }
}

/** RFB button mask -> PS/2 buttons (bit 0 left, 1 right, 2 middle). */
function ps2Buttons(mask: number): number {
  return (mask & 1) | ((mask & 2) << 1) | ((mask & 4) >>> 1);
}
