/**
 * One RFB 3.8 client over an injected byte stream (RFC 6143; community RFB spec for
 * the QEMU messages, ZRLE and ExtendedDesktopSize).
 *
 * The transport may split or merge messages arbitrarily: `receive` buffers and parses
 * incrementally. State machine: version -> security (3.7/3.8) -> auth (VNC
 * Authentication only) -> init (ClientInit; the shared flag is ignored: every client
 * shares the display) -> normal.
 *
 * Updates: a FramebufferUpdateRequest is answered once there is something to send,
 * with the rectangles that changed since this client's previous update (whole area
 * for a non-incremental request), preceded by pseudo-rectangles (extended key event
 * acknowledgement, LED state, size changes, SetDesktopSize replies). One update per
 * request, so a slow client never has more than one update queued. A client that
 * supports neither DesktopSize nor ExtendedDesktopSize keeps its initial size:
 * updates are clipped to it. SetDesktopSize is always answered "prohibited" (the
 * guest decides its resolution).
 *
 * Bad input (unknown message, absurd length, unusable pixel format, failed
 * authentication) closes this connection with a reason; nothing is thrown to the
 * caller.
 * Left out: colour-map pixel formats, CopyRect, Cursor pseudo-encoding, continuous
 * updates and fences, Extended Clipboard, QEMU audio (requests ignored), brute-force
 * throttling of VNC Authentication (callers should rate-limit connections).
 */
import { ByteWriter } from './byte-writer.js';
import { parseClientMessage, type ClientMessage } from './client-messages.js';
import { vncAuthResponse } from './des.js';
import {
  DirtyRegion, type Rect,
} from './dirty-region.js';
import {
  ENC_DESKTOP_SIZE, ENC_EXTENDED_DESKTOP_SIZE, ENC_QEMU_EXTENDED_KEY_EVENT, ENC_QEMU_LED_STATE, ENC_RAW, ENC_ZRLE,
  encodeRaw, ZrleEncoder, type DeflateFactory, type SourceFrame,
} from './encodings.js';
import {
  beginUpdate, EDS_REASON_SERVER, EDS_REASON_THIS_CLIENT, EDS_STATUS_OK, EDS_STATUS_PROHIBITED, rectHeader,
  writeDesktopSize, writeExtendedDesktopSize, writeExtendedKeyEventAck, writeLedState,
} from './framebuffer-update.js';
import {
  parseClientVersion, SEC_NONE, SEC_VNC_AUTH, SERVER_VERSION, VERSION_BYTES, VNC_CHALLENGE_BYTES,
  writeSecurityResult, writeServerInit, type RfbMinor,
} from './handshake.js';
import { InputMapper, type InputSink } from './input.js';
import { NATIVE_PIXEL_FORMAT, PixelConverter, pixelFormatProblem } from './pixel-format.js';

/** The byte stream to one client. */
export interface RfbTransport {
  /** Sends bytes; the connection never touches them afterwards. */
  send(bytes: Uint8Array): void;
  /** Closes the stream (may be called after the peer went away: must be idempotent). */
  close(reason: string): void;
}

/** What a connection needs from its server (internal contract of RfbServer). */
export interface RfbConnectionContext {
  readonly name: string;
  readonly password: string | undefined;
  readonly input: InputSink | undefined;
  readonly deflate: DeflateFactory | undefined;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly onCutText: ((text: string) => void) | undefined;
  readonly log: (message: string) => void;
  /** The current framebuffer. */
  frame(): SourceFrame;
  /** The current keyboard LEDs (bit 0 Scroll, 1 Num, 2 Caps Lock). */
  leds(): number;
  /** Called once when the connection has closed. */
  closed(conn: RfbConnection): void;
}

type State = 'version' | 'security' | 'auth' | 'init' | 'normal' | 'closed';

/** Cut text up to this size is forwarded; longer text is skipped. */
const MAX_FORWARDED_CUT_TEXT = 1 << 20;
/** ClientCutText is Latin-1 (RFC 6143 section 7.5.6). */
const LATIN1 = new TextDecoder('latin1');

/** One client of an RfbServer. */
export class RfbConnection {
  private state: State = 'version';
  private minor: RfbMinor = 8;
  private challenge: Uint8Array | null = null;
  private inBuf = new Uint8Array(256);
  private inLen = 0;
  private readonly out = new ByteWriter();
  private readonly input: InputMapper;
  private conv = new PixelConverter(NATIVE_PIXEL_FORMAT);
  private zrle: ZrleEncoder | null = null;
  private pixelEncoding = ENC_RAW;
  private supportsDesktopSize = false;
  private supportsExtendedDesktopSize = false;
  private supportsLeds = false;
  private extKeyAckPending = false;
  private extKeyAcked = false;
  private ledsPending = false;
  private layoutPending = false;
  private readonly desktopSizeReplies: number[] = [];
  private readonly dirty = new DirtyRegion();
  /** Size of the framebuffer the dirty region tracks. */
  private fbWidth = 0;
  private fbHeight = 0;
  /** Size the client believes the framebuffer has. */
  private clientWidth = 0;
  private clientHeight = 0;
  private request: Rect | null = null;
  private cutRemaining = 0;
  private cutText: Uint8Array | null = null;
  private cutPos = 0;
  private audioLogged = false;
  private closeReason: string | null = null;

  /**
   * Use RfbServer.connect, which starts the handshake.
   * @param id name used in log messages
   */
  constructor(readonly id: string, private readonly transport: RfbTransport, private readonly ctx: RfbConnectionContext) {
    this.input = new InputMapper(ctx.input, (m) => ctx.log(`rfb ${id}: ${m}`));
  }

  /** Whether the connection has closed. */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Why the connection closed, or null while open. */
  get reason(): string | null {
    return this.closeReason;
  }

  /** Whether the handshake is complete. */
  get isReady(): boolean {
    return this.state === 'normal';
  }

  /** Sends the server's ProtocolVersion (called by RfbServer.connect). */
  start(): void {
    this.guard(() => this.send(new TextEncoder().encode(SERVER_VERSION)));
  }

  /** Bytes from the client, in any chunking. Never throws. */
  receive(bytes: Uint8Array): void {
    if (this.state === 'closed' || bytes.length === 0) return;
    this.guard(() => {
      this.append(bytes);
      let off = 0;
      while (this.state !== 'closed') {
        const used = this.step(off);
        if (used === 0) break;
        off += used;
      }
      if (this.state === 'closed') return;
      this.inBuf.copyWithin(0, off, this.inLen);
      this.inLen -= off;
      this.trySendUpdate();
    });
  }

  /** A new frame was rendered (called by RfbServer.onFrame). Never throws. */
  frameChanged(width: number, height: number, dirty: readonly Rect[] | null): void {
    if (this.state === 'closed') return;
    this.guard(() => {
      this.trackFrame(width, height, dirty);
      this.trySendUpdate();
    });
  }

  /** The keyboard LEDs changed (called by RfbServer.setLeds). Never throws. */
  ledsChanged(): void {
    if (this.state === 'closed') return;
    this.guard(() => {
      if (this.supportsLeds) this.ledsPending = true;
      this.trySendUpdate();
    });
  }

  /**
   * Closes the connection: releases held keys and buttons, logs the reason and closes
   * the transport. Idempotent. Call it with a reason when the peer went away.
   */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.ctx.log(`rfb ${this.id}: closed: ${reason}`);
    try {
      this.input.releaseAll();
    } catch (e) {
      this.ctx.log(`rfb ${this.id}: releasing input failed: ${String(e)}`);
    }
    try {
      this.transport.close(reason);
    } catch (e) {
      this.ctx.log(`rfb ${this.id}: transport close failed: ${String(e)}`);
    }
    this.ctx.closed(this);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.close(`internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private send(bytes: Uint8Array): void {
    this.transport.send(bytes);
  }

  /** Sends what `out` holds (a copy: the transport may keep it). */
  private flushOut(): void {
    if (this.out.length === 0) return;
    const bytes = this.out.copy();
    this.out.reset();
    this.send(bytes);
  }

  private append(bytes: Uint8Array): void {
    if (this.inLen + bytes.length > this.inBuf.length) {
      let size = this.inBuf.length * 2;
      while (size < this.inLen + bytes.length) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.inBuf.subarray(0, this.inLen));
      this.inBuf = next;
    }
    this.inBuf.set(bytes, this.inLen);
    this.inLen += bytes.length;
  }

  /** Handles what starts at `off`; returns the bytes consumed (0: wait for more). */
  private step(off: number): number {
    const b = this.inBuf;
    const avail = this.inLen - off;
    switch (this.state) {
      case 'version': {
        if (avail < VERSION_BYTES) return 0;
        const v = parseClientVersion(b.subarray(off, off + VERSION_BYTES));
        if ('error' in v) { this.close(v.error); return 0; }
        this.minor = v.minor;
        const type = this.ctx.password !== undefined ? SEC_VNC_AUTH : SEC_NONE;
        if (this.minor === 3) {
          this.out.u32(type); // 3.3: the server decides
          this.flushOut();
          this.beginSecurity(type);
        } else {
          this.out.u8(1);
          this.out.u8(type);
          this.flushOut();
          this.state = 'security';
        }
        return VERSION_BYTES;
      }
      case 'security': {
        if (avail < 1) return 0;
        const chosen = b[off]!;
        const offered = this.ctx.password !== undefined ? SEC_VNC_AUTH : SEC_NONE;
        if (chosen !== offered) {
          this.failSecurity(`client chose security type ${chosen}, offered ${offered}`);
          return 0;
        }
        this.beginSecurity(chosen);
        return 1;
      }
      case 'auth': {
        if (avail < VNC_CHALLENGE_BYTES) return 0;
        const expected = vncAuthResponse(this.ctx.password ?? '', this.challenge!);
        let diff = 0;
        for (let i = 0; i < VNC_CHALLENGE_BYTES; i++) diff |= expected[i]! ^ b[off + i]!;
        this.challenge = null;
        if (diff !== 0) {
          this.failSecurity('VNC authentication failed: wrong password');
          return 0;
        }
        writeSecurityResult(this.out, true, this.minor, '');
        this.flushOut();
        this.state = 'init';
        return VNC_CHALLENGE_BYTES;
      }
      case 'init': {
        if (avail < 1) return 0;
        const frame = this.ctx.frame();
        this.trackFrame(frame.width, frame.height, null);
        this.clientWidth = frame.width;
        this.clientHeight = frame.height;
        // Everything starts dirty: even a first incremental request gets the whole screen.
        writeServerInit(this.out, frame.width, frame.height, NATIVE_PIXEL_FORMAT, this.ctx.name);
        this.flushOut();
        this.state = 'normal';
        return 1;
      }
      case 'normal':
        if (avail < 1) return 0;
        if (this.cutRemaining > 0) return this.takeCutText(off, avail);
        return this.parseMessage(off);
      case 'closed':
        return 0;
    }
  }

  private beginSecurity(type: number): void {
    if (type === SEC_NONE) {
      if (this.minor === 8) {
        writeSecurityResult(this.out, true, this.minor, '');
        this.flushOut();
      }
      this.state = 'init';
      return;
    }
    const challenge = this.ctx.randomBytes(VNC_CHALLENGE_BYTES);
    if (challenge.length !== VNC_CHALLENGE_BYTES) throw new Error('randomBytes returned the wrong length');
    this.challenge = challenge;
    this.out.bytes(challenge);
    this.flushOut();
    this.state = 'auth';
  }

  private failSecurity(reason: string): void {
    if (this.minor === 8 || this.state === 'auth') {
      writeSecurityResult(this.out, false, this.minor, reason);
      this.flushOut();
    }
    this.close(reason);
  }

  private parseMessage(off: number): number {
    const r = parseClientMessage(this.inBuf, off, this.inLen);
    if (r.kind === 'need-more') return 0;
    if (r.kind === 'error') { this.close(r.reason); return 0; }
    this.handle(r.message);
    return r.size;
  }

  private handle(m: ClientMessage): void {
    switch (m.type) {
      case 'set-pixel-format': {
        const problem = pixelFormatProblem(m.format);
        if (problem !== null) { this.close(`SetPixelFormat: ${problem}`); return; }
        this.conv = new PixelConverter(m.format);
        return;
      }
      case 'set-encodings':
        this.setEncodings(m.encodings);
        return;
      case 'update-request': {
        const area = { x: m.x, y: m.y, width: m.width, height: m.height };
        if (!m.incremental) this.dirty.mark(area.x, area.y, area.width, area.height);
        this.request = area;
        return;
      }
      case 'key':
        this.input.keyEvent(m.down, m.keysym);
        return;
      case 'qemu-key':
        this.input.extendedKeyEvent(m.down, m.keysym, m.keycode);
        return;
      case 'pointer':
        this.input.pointerEvent(m.mask, m.x, m.y, this.clientWidth, this.clientHeight);
        return;
      case 'cut-text':
        this.cutRemaining = m.length;
        this.cutPos = 0;
        this.cutText = this.ctx.onCutText !== undefined && m.length <= MAX_FORWARDED_CUT_TEXT ? new Uint8Array(m.length) : null;
        if (m.length === 0) this.finishCutText();
        return;
      case 'set-desktop-size':
        if (this.supportsExtendedDesktopSize) this.desktopSizeReplies.push(EDS_STATUS_PROHIBITED);
        this.ctx.log(`rfb ${this.id}: SetDesktopSize ${m.width}x${m.height} refused (the guest sets the resolution)`);
        return;
      case 'qemu-audio':
        if (!this.audioLogged) this.ctx.log(`rfb ${this.id}: QEMU audio is not supported; requests ignored`);
        this.audioLogged = true;
        return;
    }
  }

  private takeCutText(off: number, avail: number): number {
    const n = Math.min(avail, this.cutRemaining);
    if (this.cutText !== null) this.cutText.set(this.inBuf.subarray(off, off + n), this.cutPos);
    this.cutPos += n;
    this.cutRemaining -= n;
    if (this.cutRemaining === 0) this.finishCutText();
    return n;
  }

  private finishCutText(): void {
    const text = this.cutText;
    this.cutText = null;
    if (text !== null) this.ctx.onCutText?.(LATIN1.decode(text));
  }

  private setEncodings(list: readonly number[]): void {
    this.pixelEncoding = ENC_RAW;
    for (const e of list) {
      if (e === ENC_RAW || (e === ENC_ZRLE && this.ctx.deflate !== undefined)) { this.pixelEncoding = e; break; }
    }
    this.supportsDesktopSize = list.includes(ENC_DESKTOP_SIZE);
    const eds = list.includes(ENC_EXTENDED_DESKTOP_SIZE);
    if (eds && !this.supportsExtendedDesktopSize) this.layoutPending = true; // announce support and layout
    this.supportsExtendedDesktopSize = eds;
    if (list.includes(ENC_QEMU_EXTENDED_KEY_EVENT) && !this.extKeyAcked) this.extKeyAckPending = true;
    const leds = list.includes(ENC_QEMU_LED_STATE);
    if (leds && !this.supportsLeds) this.ledsPending = true;
    this.supportsLeds = leds;
    if (!leds) this.ledsPending = false;
  }

  private get canResize(): boolean {
    return this.supportsDesktopSize || this.supportsExtendedDesktopSize;
  }

  /** Accumulates a frame's changes into this client's dirty region. */
  private trackFrame(width: number, height: number, dirty: readonly Rect[] | null): void {
    if (width !== this.fbWidth || height !== this.fbHeight) {
      this.fbWidth = width;
      this.fbHeight = height;
      this.dirty.resize(width, height);
      this.dirty.markAll();
      return;
    }
    if (dirty === null) { this.dirty.markAll(); return; }
    for (const r of dirty) this.dirty.mark(r.x, r.y, r.width, r.height);
  }

  /** Answers the pending request if there is anything to send. */
  private trySendUpdate(): void {
    if (this.state !== 'normal' || this.request === null) return;
    const resize = this.canResize && (this.clientWidth !== this.fbWidth || this.clientHeight !== this.fbHeight);
    const area = resize ? { x: 0, y: 0, width: this.fbWidth, height: this.fbHeight } : this.request;
    const rects = this.dirty.take(area);
    const pseudo = this.extKeyAckPending || this.ledsPending || this.layoutPending || resize
      || this.desktopSizeReplies.length > 0;
    if (rects.length === 0 && !pseudo) return;
    this.request = null;

    const out = this.out;
    out.reset();
    const countAt = beginUpdate(out);
    let count = 0;
    if (this.extKeyAckPending) {
      writeExtendedKeyEventAck(out);
      this.extKeyAckPending = false;
      this.extKeyAcked = true;
      count++;
    }
    if (this.ledsPending) {
      writeLedState(out, this.ctx.leds());
      this.ledsPending = false;
      count++;
    }
    if (resize || this.layoutPending) {
      if (this.supportsExtendedDesktopSize) {
        writeExtendedDesktopSize(out, EDS_REASON_SERVER, EDS_STATUS_OK, this.fbWidth, this.fbHeight);
      } else {
        writeDesktopSize(out, this.fbWidth, this.fbHeight);
      }
      this.clientWidth = this.fbWidth;
      this.clientHeight = this.fbHeight;
      this.layoutPending = false;
      count++;
    }
    for (const status of this.desktopSizeReplies) {
      writeExtendedDesktopSize(out, EDS_REASON_THIS_CLIENT, status, this.clientWidth, this.clientHeight);
      count++;
    }
    this.desktopSizeReplies.length = 0;

    const frame = this.ctx.frame();
    const maxW = Math.min(this.clientWidth, this.fbWidth, frame.width);
    const maxH = Math.min(this.clientHeight, this.fbHeight, frame.height);
    for (const r of rects) {
      const w = Math.min(r.x + r.width, maxW) - r.x;
      const h = Math.min(r.y + r.height, maxH) - r.y;
      if (w <= 0 || h <= 0) continue;
      rectHeader(out, r.x, r.y, w, h, this.pixelEncoding);
      if (this.pixelEncoding === ENC_ZRLE) {
        this.zrle ??= new ZrleEncoder(this.ctx.deflate!(), new ByteWriter(64 * 64 * 4 + 1024));
        this.zrle.encode(frame, r.x, r.y, w, h, this.conv, out);
      } else {
        encodeRaw(frame, r.x, r.y, w, h, this.conv, out);
      }
      count++;
    }
    out.patchU16(countAt, count);
    this.flushOut();
  }
}
