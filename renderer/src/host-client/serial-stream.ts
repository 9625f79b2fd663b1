/**
 * A VM's serial console as a byte stream, the same for both shells: a binary WebSocket
 * (`/vm/<id>/serial`) in the browser shell, a MessagePort from the preload in the desktop
 * shell. Bytes only, both ways; the host sends the console history first.
 */
import { SerialOpenAnswer, SerialPortMessage, describeZodError, type VireoBridge } from '../../../protocol/index.js';

/** Connection state of a serial stream. */
export type SerialStatus = 'connecting' | 'open' | 'closed';

/** One open serial console. */
export interface SerialStream {
  /** Current state. */
  status(): SerialStatus;
  /** Why the stream closed, if it did with a problem. */
  closeReason(): string | null;
  /** Bytes from the guest (history first, then live); returns the unsubscribe function. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
  /** State changes; returns the unsubscribe function. */
  onStatus(listener: (status: SerialStatus) => void): () => void;
  /** Sends bytes to the guest (queued until open; dropped after close). */
  write(bytes: Uint8Array): void;
  /** Closes the stream. */
  close(): void;
}

/** Shared listener and queue handling of both implementations. */
abstract class BaseSerialStream implements SerialStream {
  private state: SerialStatus = 'connecting';
  private reason: string | null = null;
  private readonly dataListeners = new Set<(bytes: Uint8Array) => void>();
  private readonly statusListeners = new Set<(status: SerialStatus) => void>();
  /** Bytes written before the transport opened. */
  protected readonly queued: Uint8Array[] = [];

  status(): SerialStatus { return this.state; }
  closeReason(): string | null { return this.reason; }

  onData(listener: (bytes: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => { this.dataListeners.delete(listener); };
  }

  onStatus(listener: (status: SerialStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => { this.statusListeners.delete(listener); };
  }

  write(bytes: Uint8Array): void {
    if (this.state === 'closed' || bytes.length === 0) return;
    if (this.state === 'connecting') this.queued.push(Uint8Array.from(bytes));
    else this.send(Uint8Array.from(bytes));
  }

  abstract close(): void;

  /** Sends bytes over the open transport. */
  protected abstract send(bytes: Uint8Array): void;

  /** Delivers bytes from the host. */
  protected deliver(bytes: Uint8Array): void {
    for (const l of [...this.dataListeners]) l(bytes);
  }

  /** Moves to `status` (closed is final). */
  protected setStatus(status: SerialStatus, reason: string | null = null): void {
    if (this.state === 'closed' || this.state === status) return;
    this.state = status;
    if (status === 'closed') {
      this.reason = reason;
      this.queued.length = 0;
    }
    if (status === 'open') for (const b of this.queued.splice(0)) this.send(b);
    for (const l of [...this.statusListeners]) l(status);
  }
}

/** Serial stream over the browser shell's binary WebSocket. */
export class WebSocketSerialStream extends BaseSerialStream {
  private readonly ws: WebSocket;

  /** Connects to `url` (`ws://host/vm/<id>/serial?token=...`). */
  constructor(url: string, WebSocketImpl: new (url: string) => WebSocket = WebSocket) {
    super();
    this.ws = new WebSocketImpl(url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => this.setStatus('open');
    this.ws.onmessage = (ev: MessageEvent) => {
      if (ev.data instanceof ArrayBuffer) this.deliver(new Uint8Array(ev.data));
      else console.warn('vireo: dropped a non-binary frame on a serial console');
    };
    this.ws.onerror = () => undefined; // followed by close
    this.ws.onclose = (ev: CloseEvent) => {
      this.setStatus('closed', ev.code === 1000 || ev.code === 1005 ? null : `the serial console closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`);
    };
  }

  close(): void {
    this.setStatus('closed');
    this.ws.close();
  }

  protected send(bytes: Uint8Array): void {
    if (this.ws.readyState === 1) this.ws.send(bytes);
  }
}

/** Serial stream over a MessagePort handed over by the Electron preload. */
export class PortSerialStream extends BaseSerialStream {
  private port: MessagePort | null = null;
  private readonly win: Window;
  private readonly onWindowMessage: (ev: MessageEvent) => void;

  /** Asks the preload for VM `id`'s console port. */
  constructor(bridge: VireoBridge, id: string, win: Window = window) {
    super();
    this.win = win;
    const nonce = win.crypto.randomUUID();
    this.onWindowMessage = (ev: MessageEvent) => {
      if (ev.source !== win) return;
      const msg = SerialPortMessage.safeParse(ev.data);
      const port = ev.ports[0];
      if (!msg.success || msg.data.nonce !== nonce || !port) return;
      win.removeEventListener('message', this.onWindowMessage);
      if (this.status() === 'closed') { port.close(); return; }
      this.port = port;
      port.onmessage = (e: MessageEvent) => {
        if (e.data instanceof Uint8Array) this.deliver(e.data);
        else console.warn('vireo: dropped a non-byte message on a serial console port');
      };
      port.start();
      this.setStatus('open');
    };
    // Listen before asking, so the port cannot arrive unheard.
    win.addEventListener('message', this.onWindowMessage);
    bridge.openSerial(id, nonce).then((raw) => {
      const answer = SerialOpenAnswer.safeParse(raw);
      if (!answer.success) this.fail(`the host sent a malformed answer (${describeZodError(answer.error)})`);
      else if (!answer.data.ok) this.fail(answer.data.error.message);
    }, (err: unknown) => this.fail(err instanceof Error ? err.message : String(err)));
  }

  close(): void {
    this.win.removeEventListener('message', this.onWindowMessage);
    this.setStatus('closed');
    this.port?.close();
  }

  protected send(bytes: Uint8Array): void {
    this.port?.postMessage(bytes);
  }

  private fail(reason: string): void {
    this.win.removeEventListener('message', this.onWindowMessage);
    this.setStatus('closed', reason);
  }
}
