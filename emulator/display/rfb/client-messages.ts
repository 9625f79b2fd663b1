/**
 * Incremental parsing of RFB client-to-server messages (RFC 6143 section 7.5) and the
 * QEMU client message (community RFB spec, "QEMU Client Message": Extended Key Event
 * and Audio), plus SetDesktopSize (community spec, "SetDesktopSize").
 *
 * `parseClientMessage` looks at the buffered bytes and returns either a complete
 * message and its size, "need more bytes", or a reason the stream is malformed.
 * Lengths are checked before anything is buffered, so a hostile length never makes
 * the caller wait for (or allocate) an absurd amount of data.
 */
import { readPixelFormat, type PixelFormat } from './pixel-format.js';

/** Client message types. */
export const MSG_SET_PIXEL_FORMAT = 0;
export const MSG_SET_ENCODINGS = 2;
export const MSG_FRAMEBUFFER_UPDATE_REQUEST = 3;
export const MSG_KEY_EVENT = 4;
export const MSG_POINTER_EVENT = 5;
export const MSG_CLIENT_CUT_TEXT = 6;
export const MSG_SET_DESKTOP_SIZE = 251;
export const MSG_QEMU = 255;
/** QEMU client message subtypes. */
export const QEMU_EXTENDED_KEY_EVENT = 0;
export const QEMU_AUDIO = 1;

/** More encodings than any client lists (noVNC sends about 20). */
export const MAX_ENCODINGS = 1024;
/** Largest ClientCutText accepted at all (its text is streamed, not buffered, past 1 MiB). */
export const MAX_CUT_TEXT_BYTES = 16 << 20;
/** More screens than SetDesktopSize can sensibly carry. */
export const MAX_SCREENS = 64;

/** A parsed client message. ClientCutText carries only its length (the text follows). */
export type ClientMessage =
  | { readonly type: 'set-pixel-format'; readonly format: PixelFormat }
  | { readonly type: 'set-encodings'; readonly encodings: readonly number[] }
  | { readonly type: 'update-request'; readonly incremental: boolean; readonly x: number; readonly y: number; readonly width: number; readonly height: number }
  | { readonly type: 'key'; readonly down: boolean; readonly keysym: number }
  | { readonly type: 'pointer'; readonly mask: number; readonly x: number; readonly y: number }
  | { readonly type: 'cut-text'; readonly length: number }
  | { readonly type: 'set-desktop-size'; readonly width: number; readonly height: number; readonly screens: number }
  | { readonly type: 'qemu-key'; readonly down: boolean; readonly keysym: number; readonly keycode: number }
  | { readonly type: 'qemu-audio'; readonly operation: number };

/** Result of one parse attempt. */
export type ParseResult =
  | { readonly kind: 'message'; readonly message: ClientMessage; readonly size: number }
  | { readonly kind: 'need-more' }
  | { readonly kind: 'error'; readonly reason: string };

const NEED_MORE: ParseResult = Object.freeze({ kind: 'need-more' });

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function s32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/** Parses the message starting at `off` in `b[off, end)`. */
export function parseClientMessage(b: Uint8Array, off: number, end: number): ParseResult {
  const avail = end - off;
  if (avail < 1) return NEED_MORE;
  const type = b[off]!;
  const msg = (message: ClientMessage, size: number): ParseResult =>
    (avail < size ? NEED_MORE : { kind: 'message', message, size });
  switch (type) {
    case MSG_SET_PIXEL_FORMAT:
      if (avail < 20) return NEED_MORE;
      return msg({ type: 'set-pixel-format', format: readPixelFormat(b, off + 4) }, 20);
    case MSG_SET_ENCODINGS: {
      if (avail < 4) return NEED_MORE;
      const n = u16(b, off + 2);
      if (n > MAX_ENCODINGS) return { kind: 'error', reason: `SetEncodings lists ${n} encodings (limit ${MAX_ENCODINGS})` };
      if (avail < 4 + 4 * n) return NEED_MORE;
      const encodings: number[] = [];
      for (let i = 0; i < n; i++) encodings.push(s32(b, off + 4 + 4 * i));
      return msg({ type: 'set-encodings', encodings }, 4 + 4 * n);
    }
    case MSG_FRAMEBUFFER_UPDATE_REQUEST:
      if (avail < 10) return NEED_MORE;
      return msg({
        type: 'update-request', incremental: b[off + 1]! !== 0,
        x: u16(b, off + 2), y: u16(b, off + 4), width: u16(b, off + 6), height: u16(b, off + 8),
      }, 10);
    case MSG_KEY_EVENT:
      if (avail < 8) return NEED_MORE;
      return msg({ type: 'key', down: b[off + 1]! !== 0, keysym: u32(b, off + 4) }, 8);
    case MSG_POINTER_EVENT:
      if (avail < 6) return NEED_MORE;
      return msg({ type: 'pointer', mask: b[off + 1]!, x: u16(b, off + 2), y: u16(b, off + 4) }, 6);
    case MSG_CLIENT_CUT_TEXT: {
      if (avail < 8) return NEED_MORE;
      // A negative length is the Extended Clipboard form (never advertised here): skip it the same way.
      const length = Math.abs(s32(b, off + 4));
      if (length > MAX_CUT_TEXT_BYTES) return { kind: 'error', reason: `ClientCutText of ${length} bytes (limit ${MAX_CUT_TEXT_BYTES})` };
      return msg({ type: 'cut-text', length }, 8);
    }
    case MSG_SET_DESKTOP_SIZE: {
      if (avail < 8) return NEED_MORE;
      const screens = b[off + 6]!;
      if (screens > MAX_SCREENS) return { kind: 'error', reason: `SetDesktopSize with ${screens} screens (limit ${MAX_SCREENS})` };
      return msg({ type: 'set-desktop-size', width: u16(b, off + 2), height: u16(b, off + 4), screens }, 8 + 16 * screens);
    }
    case MSG_QEMU: {
      if (avail < 2) return NEED_MORE;
      const sub = b[off + 1]!;
      if (sub === QEMU_EXTENDED_KEY_EVENT) {
        if (avail < 12) return NEED_MORE;
        return msg({ type: 'qemu-key', down: u16(b, off + 2) !== 0, keysym: u32(b, off + 4), keycode: u32(b, off + 8) }, 12);
      }
      if (sub === QEMU_AUDIO) {
        if (avail < 4) return NEED_MORE;
        const operation = u16(b, off + 2);
        if (operation === 0 || operation === 1) return msg({ type: 'qemu-audio', operation }, 4);
        if (operation === 2) return msg({ type: 'qemu-audio', operation }, 10);
        return { kind: 'error', reason: `unknown QEMU audio operation ${operation}` };
      }
      return { kind: 'error', reason: `unknown QEMU client message subtype ${sub}` };
    }
    default:
      return { kind: 'error', reason: `unknown client message type ${type}` };
  }
}
