/**
 * RFB (VNC) server of one machine's display: any number of RfbConnections over
 * injected byte streams (RFC 6143, RFB 3.8 with 3.3/3.7 clients accepted).
 *
 * Use:
 *   const server = new RfbServer({ name: vm.name, input: i8042, deflate: createZlibDeflate });
 *   // per client (MessagePort, WebSocket, TCP socket):
 *   const conn = server.connect({ send: (b) => ws.send(b), close: () => ws.close() });
 *   ws.on('message', (data) => conn.receive(data));
 *   ws.on('close', () => conn.close('peer closed'));
 *   // after every VgaRenderer.render():
 *   server.onFrame(renderer.render());
 *   // from I8042Options.onLeds:
 *   server.setLeds(leds);
 *
 * Security: None when no password is set (for in-app channels that are authenticated
 * already), otherwise VNC Authentication only (RFC 6143 section 7.2.2; DES in des.ts).
 * Until the first frame, the screen is a black 640x480.
 * Nothing here throws to the caller once constructed: a failing connection is closed
 * with a logged reason and the others carry on.
 */
import type { DeflateFactory, SourceFrame } from './encodings.js';
import type { InputSink } from './input.js';
import { RfbConnection, type RfbConnectionContext, type RfbTransport } from './rfb-connection.js';

/** What `onFrame` needs of a render: VgaRenderer's RenderResult fits. */
export interface RfbFrame extends SourceFrame {
  /** Areas changed since the previous frame passed to `onFrame`. */
  readonly dirty: readonly { readonly x: number; readonly y: number; readonly width: number; readonly height: number }[];
}

/** Options of an RfbServer. */
export interface RfbServerOptions {
  /** Desktop name sent in ServerInit (the VM's name). */
  readonly name: string;
  /** When set, clients must pass VNC Authentication (only the first 8 characters count). */
  readonly password?: string;
  /** Where keyboard and pointer input goes (the i8042); without it, input is dropped. */
  readonly input?: InputSink;
  /** zlib for ZRLE (emulator/host/rfb-zlib.ts); without it, only Raw is used. */
  readonly deflate?: DeflateFactory;
  /** Random bytes for authentication challenges (default: Web Crypto getRandomValues). */
  readonly randomBytes?: (n: number) => Uint8Array;
  /** Receives text the client put on its clipboard (ClientCutText, Latin-1). */
  readonly onCutText?: (text: string) => void;
  /** Log sink for connection events and close reasons. */
  readonly log?: (message: string) => void;
}

/** Width and height of the screen before the first frame. */
const INITIAL_WIDTH = 640;
const INITIAL_HEIGHT = 480;

function defaultRandomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** The RFB server of one machine. */
export class RfbServer {
  private readonly connections = new Set<RfbConnection>();
  private frame: SourceFrame = {
    width: INITIAL_WIDTH, height: INITIAL_HEIGHT, pixels: new Uint8ClampedArray(INITIAL_WIDTH * INITIAL_HEIGHT * 4),
  };
  private leds = 0;
  private nextId = 1;
  private readonly ctx: RfbConnectionContext;

  constructor(options: RfbServerOptions) {
    const log = options.log ?? (() => undefined);
    const randomBytes = options.randomBytes ?? defaultRandomBytes;
    if (options.password !== undefined && options.randomBytes === undefined && globalThis.crypto?.getRandomValues === undefined) {
      throw new Error('RfbServer: a password needs randomBytes (no Web Crypto here)');
    }
    this.ctx = {
      name: options.name,
      password: options.password,
      input: options.input,
      deflate: options.deflate,
      randomBytes,
      onCutText: options.onCutText,
      log: (m) => {
        try { log(m); } catch { /* a failing logger must not break the server */ }
      },
      frame: () => this.frame,
      leds: () => this.leds,
      closed: (conn) => { this.connections.delete(conn); },
    };
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts serving one client over `transport` (sends the ProtocolVersion at once). */
  connect(transport: RfbTransport): RfbConnection {
    const conn = new RfbConnection(String(this.nextId++), transport, this.ctx);
    this.connections.add(conn);
    conn.start();
    return conn;
  }

  /**
   * A new frame (call after every render). `pixels` must stay valid until the next
   * call: connections encode from it when their clients ask. Never throws.
   */
  onFrame(render: RfbFrame): void {
    if (render.width < 1 || render.height < 1 || render.pixels.length < render.width * render.height * 4) {
      this.ctx.log(`rfb: ignoring a malformed frame ${render.width}x${render.height}`);
      return;
    }
    this.frame = { width: render.width, height: render.height, pixels: render.pixels };
    for (const conn of [...this.connections]) conn.frameChanged(render.width, render.height, render.dirty);
  }

  /** The guest's keyboard LEDs (bit 0 Scroll, 1 Num, 2 Caps Lock), e.g. from I8042Options.onLeds. */
  setLeds(leds: number): void {
    if ((leds & 7) === this.leds) return;
    this.leds = leds & 7;
    for (const conn of [...this.connections]) conn.ledsChanged();
  }

  /** Closes every connection. */
  closeAll(reason: string): void {
    for (const conn of [...this.connections]) conn.close(reason);
  }
}
