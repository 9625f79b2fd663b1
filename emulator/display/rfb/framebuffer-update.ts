/**
 * Writers for the FramebufferUpdate message (RFC 6143 section 7.6.1) and its
 * pseudo-rectangles: DesktopSize (RFC 6143 section 7.8.2), ExtendedDesktopSize
 * (community RFB spec "ExtendedDesktopSize Pseudo-encoding"), QEMU Extended Key Event
 * and QEMU LED State (community RFB spec, same names).
 */
import type { ByteWriter } from './byte-writer.js';
import {
  ENC_DESKTOP_SIZE, ENC_EXTENDED_DESKTOP_SIZE, ENC_QEMU_EXTENDED_KEY_EVENT, ENC_QEMU_LED_STATE,
} from './encodings.js';

/** Server message type FramebufferUpdate. */
export const MSG_FRAMEBUFFER_UPDATE = 0;

/** ExtendedDesktopSize reasons (rectangle x). */
export const EDS_REASON_SERVER = 0;
export const EDS_REASON_THIS_CLIENT = 1;
/** ExtendedDesktopSize status codes (rectangle y). */
export const EDS_STATUS_OK = 0;
export const EDS_STATUS_PROHIBITED = 1;

/** Starts a FramebufferUpdate; returns the position of its rectangle count. */
export function beginUpdate(out: ByteWriter): number {
  out.u8(MSG_FRAMEBUFFER_UPDATE);
  out.u8(0);
  const at = out.length;
  out.u16(0);
  return at;
}

/** Appends a rectangle header. */
export function rectHeader(out: ByteWriter, x: number, y: number, w: number, h: number, encoding: number): void {
  out.u16(x);
  out.u16(y);
  out.u16(w);
  out.u16(h);
  out.s32(encoding);
}

/** The pseudo-rectangle that tells a client QEMU extended key events are understood. */
export function writeExtendedKeyEventAck(out: ByteWriter): void {
  rectHeader(out, 0, 0, 0, 0, ENC_QEMU_EXTENDED_KEY_EVENT);
}

/** QEMU LED State: one byte, bit 0 Scroll Lock, bit 1 Num Lock, bit 2 Caps Lock. */
export function writeLedState(out: ByteWriter, leds: number): void {
  rectHeader(out, 0, 0, 0, 0, ENC_QEMU_LED_STATE);
  out.u8(leds & 7);
}

/** DesktopSize: the framebuffer is now `width` x `height`. */
export function writeDesktopSize(out: ByteWriter, width: number, height: number): void {
  rectHeader(out, 0, 0, width, height, ENC_DESKTOP_SIZE);
}

/** ExtendedDesktopSize with one screen (id 0) covering the framebuffer. */
export function writeExtendedDesktopSize(
  out: ByteWriter, reason: number, status: number, width: number, height: number,
): void {
  rectHeader(out, reason, status, width, height, ENC_EXTENDED_DESKTOP_SIZE);
  out.u8(1); // number-of-screens
  out.u8(0);
  out.u16(0); // padding
  out.u32(0); // id
  out.u16(0); // x
  out.u16(0); // y
  out.u16(width);
  out.u16(height);
  out.u32(0); // flags
}
