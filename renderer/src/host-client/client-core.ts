/**
 * What both host clients share: validation of every incoming message with the protocol
 * schemas, the typed result of each method, and the event listener registry.
 */
import type { z } from 'zod';
import type { SerialStream } from './serial-stream.js';
import type { VncEndpoint } from './vnc-channel.js';
import {
  ApiError, EventMessage, ResultMessage, apiEvents, apiMethods, describeZodError, isApiEvent,
  type ApiEvent, type ApiEventPayload, type ApiMethod, type ApiParams, type ApiResult, type HostClient,
} from '../../../protocol/index.js';

/** Connection state of a host client (the preload client is always open). */
export type ConnectionState = 'connecting' | 'open' | 'closed';

/** The client the renderer uses: the protocol's HostClient plus connection state. */
export interface RendererHostClient extends HostClient {
  /** Which shell the client talks to. */
  readonly shell: 'electron' | 'server';
  /** Current connection state. */
  connection(): ConnectionState;
  /** Subscribes to connection changes; returns the unsubscribe function. */
  onConnection(listener: (state: ConnectionState) => void): () => void;
  /** Closes the connection for good (tests, page unload). */
  close(): void;
  /** Opens the serial console of VM `id` (a byte stream; history first). */
  openSerial(id: string): SerialStream;
  /**
   * Where VM `id`'s screen (RFB) is reached, as noVNC's RFB constructor takes it: a
   * WebSocket URL (browser shell) or a WebSocket-like channel (desktop shell).
   */
  openVnc(id: string): VncEndpoint;
}

/** Re-exported for convenience: the parameter and result types of each method. */
export type { ApiMethod, ApiParams, ApiResult };

/**
 * Validates a raw answer to a call of `method`: a ResultMessage whose result matches the
 * method's result schema. Returns the typed result or throws ApiError.
 */
export function parseResult<M extends ApiMethod>(method: M, raw: unknown): ApiResult<M> {
  const msg = ResultMessage.safeParse(raw);
  if (!msg.success) {
    throw new ApiError('internal', `${method}: the host sent a malformed answer (${describeZodError(msg.error)})`);
  }
  if (!msg.data.ok) throw new ApiError(msg.data.error.code, msg.data.error.message);
  const schema = apiMethods[method].result as unknown as z.ZodType<ApiResult<M>>;
  const result = schema.safeParse(msg.data.result);
  if (!result.success) {
    throw new ApiError('internal', `${method}: the host sent an invalid result (${describeZodError(result.error)})`);
  }
  return result.data;
}

/** Event listener registry; `dispatch` validates a raw EventMessage before delivering it. */
export class EventHub {
  private readonly listeners = new Map<ApiEvent, Set<(payload: unknown) => void>>();

  /** Subscribes to event E. */
  on<E extends ApiEvent>(event: E, listener: (payload: ApiEventPayload<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const wrapped = listener as (payload: unknown) => void;
    set.add(wrapped);
    return () => { set.delete(wrapped); };
  }

  /** Validates and delivers a raw event message; invalid ones are logged and dropped. */
  dispatch(raw: unknown): void {
    const msg = EventMessage.safeParse(raw);
    if (!msg.success) {
      console.warn(`vireo: dropped a malformed event (${describeZodError(msg.error)})`);
      return;
    }
    const { event, payload } = msg.data;
    if (!isApiEvent(event)) {
      console.warn(`vireo: dropped unknown event "${event}"`);
      return;
    }
    const parsed = apiEvents[event].safeParse(payload);
    if (!parsed.success) {
      console.warn(`vireo: dropped invalid ${event} event (${describeZodError(parsed.error)})`);
      return;
    }
    for (const l of [...(this.listeners.get(event) ?? [])]) {
      try {
        l(parsed.data);
      } catch (err) {
        console.error(`vireo: ${event} listener failed`, err);
      }
    }
  }
}
