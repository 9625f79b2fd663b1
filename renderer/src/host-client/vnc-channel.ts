/**
 * Where a VM's screen (RFB) is reached from the page, in the form noVNC's `RFB`
 * constructor takes (`new RFB(target, urlOrChannel)`):
 * - browser shell: the URL of the binary WebSocket `/vm/<id>/vnc` (same origin and token
 *   as the API); noVNC opens it itself;
 * - desktop shell: a {@link PortVncChannel}, a WebSocket look-alike over the MessagePort
 *   the preload hands over for a nonce (as for the serial console).
 *
 * noVNC's `Websock.attach` needs a "raw channel" with `send`, `close`, `binaryType`,
 * `onerror`, `onmessage`, `onopen`, `protocol` and `readyState` (own properties or on the
 * object's direct prototype) and also sets `onclose`; it reads `readyState` as WebSocket
 * numbers (0-3), calls `send(Uint8Array)` and reads `event.data` as an ArrayBuffer.
 */
import { VncOpenAnswer, VncPortMessage, describeZodError, type VireoBridge } from '../../../protocol/index.js';

/** What noVNC's RFB constructor takes as its second argument. */
export type VncEndpoint = string | PortVncChannel;

/** The screen URL of VM `id` for the API endpoint `apiUrl` (same origin and token). */
export function vncUrlFor(apiUrl: string, id: string): string {
  const url = new URL(apiUrl);
  url.pathname = `/vm/${encodeURIComponent(id)}/vnc`;
  return url.toString();
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** A WebSocket look-alike over the desktop shell's screen MessagePort (see the module comment). */
export class PortVncChannel {
  /** noVNC sets "arraybuffer"; messages are delivered as ArrayBuffers either way. */
  binaryType = 'arraybuffer';
  /** Set by noVNC. */
  onopen: ((ev: Event) => void) | null = null;
  /** Set by noVNC. */
  onmessage: ((ev: { data: ArrayBuffer }) => void) | null = null;
  /** Set by noVNC. */
  onerror: ((ev: Event) => void) | null = null;
  /** Set by noVNC. */
  onclose: ((ev: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  private state = CONNECTING;
  private port: MessagePort | null = null;
  private readonly win: Window;
  private readonly onWindowMessage: (ev: MessageEvent) => void;

  /** Asks the preload for VM `id`'s screen port. */
  constructor(bridge: VireoBridge, id: string, win: Window = window) {
    this.win = win;
    const nonce = win.crypto.randomUUID();
    this.onWindowMessage = (ev: MessageEvent) => {
      if (ev.source !== win) return;
      const msg = VncPortMessage.safeParse(ev.data);
      const port = ev.ports[0];
      if (!msg.success || msg.data.nonce !== nonce || !port) return;
      win.removeEventListener('message', this.onWindowMessage);
      if (this.state !== CONNECTING) { port.close(); return; }
      this.port = port;
      port.onmessage = (e: MessageEvent) => {
        if (!(e.data instanceof Uint8Array) || this.state !== OPEN) return;
        const bytes = e.data;
        const data = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
          ? bytes.buffer : bytes.slice().buffer;
        this.onmessage?.({ data });
      };
      port.start();
      this.state = OPEN;
      this.onopen?.(new Event('open'));
    };
    win.addEventListener('message', this.onWindowMessage);
    bridge.openVnc(id, nonce).then((raw) => {
      const answer = VncOpenAnswer.safeParse(raw);
      if (!answer.success) this.fail(`the host sent a malformed answer (${describeZodError(answer.error)})`);
      else if (!answer.data.ok) this.fail(answer.data.error.message);
    }, (err: unknown) => this.fail(err instanceof Error ? err.message : String(err)));
  }

  /** WebSocket readyState numbers. */
  get readyState(): number {
    return this.state;
  }

  /** No subprotocol. */
  get protocol(): string {
    return '';
  }

  /** Sends RFB bytes to the host. */
  send(data: Uint8Array | ArrayBuffer): void {
    if (this.state !== OPEN || !this.port) return;
    this.port.postMessage(data instanceof Uint8Array ? data.slice() : new Uint8Array(data.slice(0)));
  }

  /** Closes the connection (the host closes the worker-side RFB connection). */
  close(): void {
    this.finish(1000, '');
  }

  private fail(reason: string): void {
    this.onerror?.(new Event('error'));
    this.finish(1006, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.state === CLOSED) return;
    this.win.removeEventListener('message', this.onWindowMessage);
    this.state = CLOSED;
    this.port?.close();
    this.port = null;
    this.onclose?.({ code, reason, wasClean: code === 1000 });
  }
}
