/**
 * HostClient over a WebSocket to the browser shell (`/api` on the page's origin).
 * Calls made while disconnected wait for the connection; calls in flight when it drops
 * fail with an ApiError. Reconnects with capped exponential backoff.
 */
import { ApiError, describeZodError, HostToClientMessage } from '../../../protocol/index.js';
import type { ApiEvent, ApiEventPayload, ApiMethod, ApiParams, ApiResult } from '../../../protocol/index.js';
import { EventHub, parseResult, type ConnectionState, type RendererHostClient } from './client-core.js';
import { WebSocketSerialStream, type SerialStream } from './serial-stream.js';
import { vncUrlFor, type VncEndpoint } from './vnc-channel.js';

interface Pending {
  method: ApiMethod;
  resolve: (raw: unknown) => void;
  reject: (err: ApiError) => void;
}

/** Options for {@link WebSocketHostClient}. */
export interface WebSocketHostClientOptions {
  /** Full ws:// URL of the API endpoint, token included. */
  url: string;
  /** First reconnect delay (ms); doubles up to `maxRetryMs`. */
  retryMs?: number;
  /** Longest reconnect delay (ms). */
  maxRetryMs?: number;
  /** WebSocket constructor (default: the browser's); tests pass a Node implementation. */
  WebSocketImpl?: WebSocketConstructor;
}

/** The subset of the WebSocket constructor this client uses. */
export type WebSocketConstructor = new (url: string) => WebSocket;

const OPEN = 1;

/** The serial console URL of VM `id` for the API endpoint `apiUrl` (same origin and token). */
export function serialUrlFor(apiUrl: string, id: string): string {
  const url = new URL(apiUrl);
  url.pathname = `/vm/${encodeURIComponent(id)}/serial`;
  return url.toString();
}

/** A host client for the browser shell. */
export class WebSocketHostClient implements RendererHostClient {
  /** @inheritdoc */
  readonly shell = 'server' as const;
  private readonly events = new EventHub();
  private readonly pending = new Map<number, Pending>();
  private readonly outbox: string[] = [];
  private readonly connectionListeners = new Set<(s: ConnectionState) => void>();
  private socket: WebSocket | null = null;
  private state: ConnectionState = 'connecting';
  private nextId = 1;
  private retryMs: number;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  /** Connects immediately. */
  constructor(private readonly options: WebSocketHostClientOptions) {
    this.retryMs = options.retryMs ?? 500;
    this.connect();
  }

  /** @inheritdoc */
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
    if (this.closed) return Promise.reject(new ApiError('internal', 'the host client is closed'));
    const id = this.nextId++;
    const text = JSON.stringify({ kind: 'call', id, method, params });
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      if (this.socket && this.socket.readyState === OPEN) this.socket.send(text);
      else this.outbox.push(text);
    }).then((raw) => parseResult(method, raw));
  }

  /** @inheritdoc */
  on<E extends ApiEvent>(event: E, listener: (payload: ApiEventPayload<E>) => void): () => void {
    return this.events.on(event, listener);
  }

  /** @inheritdoc */
  connection(): ConnectionState {
    return this.state;
  }

  /** @inheritdoc */
  onConnection(listener: (state: ConnectionState) => void): () => void {
    this.connectionListeners.add(listener);
    return () => { this.connectionListeners.delete(listener); };
  }

  /** @inheritdoc A binary WebSocket at `/vm/<id>/serial` next to the API endpoint, same token. */
  openSerial(id: string): SerialStream {
    return new WebSocketSerialStream(serialUrlFor(this.options.url, id), this.options.WebSocketImpl);
  }

  /** @inheritdoc The URL of the binary WebSocket `/vm/<id>/vnc` next to the API endpoint, same token. */
  openVnc(id: string): VncEndpoint {
    return vncUrlFor(this.options.url, id);
  }

  /** @inheritdoc */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.close();
    this.failPending('the host client was closed');
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    for (const l of [...this.connectionListeners]) l(state);
  }

  private connect(): void {
    this.setState('connecting');
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    const ws = new Impl(this.options.url);
    this.socket = ws;
    ws.onopen = () => {
      this.retryMs = this.options.retryMs ?? 500;
      this.setState('open');
      for (const text of this.outbox.splice(0)) ws.send(text);
    };
    ws.onmessage = (ev: MessageEvent) => this.receive(ev.data);
    // A failed connection also fires `close`, which handles it; nothing to do here.
    ws.onerror = () => undefined;
    ws.onclose = () => {
      if (this.socket !== ws) return;
      this.socket = null;
      this.failPending('the connection to the Vireo host was lost');
      this.setState('closed');
      if (!this.closed) {
        this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 5000);
      }
    };
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      console.warn('vireo: dropped a binary message on the API socket');
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      console.warn('vireo: dropped a non-JSON message on the API socket');
      return;
    }
    const msg = HostToClientMessage.safeParse(raw);
    if (!msg.success) {
      console.warn(`vireo: dropped a malformed message (${describeZodError(msg.error)})`);
      return;
    }
    if (msg.data.kind === 'event') {
      this.events.dispatch(msg.data);
      return;
    }
    const pending = this.pending.get(msg.data.id);
    if (!pending) {
      if (!msg.data.ok) console.warn(`vireo: host error without a call: ${msg.data.error.message}`);
      return;
    }
    this.pending.delete(msg.data.id);
    pending.resolve(msg.data);
  }

  private failPending(reason: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new ApiError('internal', `${p.method}: ${reason}`));
    }
  }
}
