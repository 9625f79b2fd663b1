/** HostClient over the Electron preload bridge (`window.vireo`). */
import type { ApiEvent, ApiEventPayload, ApiMethod, ApiParams, ApiResult, VireoBridge } from '../../../protocol/index.js';
import { EventHub, parseResult, type ConnectionState, type RendererHostClient } from './client-core.js';
import { PortSerialStream, type SerialStream } from './serial-stream.js';
import { PortVncChannel, type VncEndpoint } from './vnc-channel.js';

/** A host client for the desktop shell: IPC through the preload's `window.vireo`. */
export class PreloadHostClient implements RendererHostClient {
  /** @inheritdoc */
  readonly shell = 'electron' as const;
  private readonly events = new EventHub();
  private readonly unsubscribe: () => void;

  /** @param bridge the object the preload exposed */
  constructor(private readonly bridge: VireoBridge) {
    this.unsubscribe = bridge.onEvent((raw) => this.events.dispatch(raw));
  }

  /** @inheritdoc */
  async call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
    return parseResult(method, await this.bridge.call(method, params));
  }

  /** @inheritdoc */
  on<E extends ApiEvent>(event: E, listener: (payload: ApiEventPayload<E>) => void): () => void {
    return this.events.on(event, listener);
  }

  /** @inheritdoc */
  connection(): ConnectionState {
    return 'open';
  }

  /** @inheritdoc IPC never disconnects: the listener is never called. */
  onConnection(_listener: (state: ConnectionState) => void): () => void {
    return () => undefined;
  }

  /** @inheritdoc A MessagePort from the main process, through the preload. */
  openSerial(id: string): SerialStream {
    return new PortSerialStream(this.bridge, id);
  }

  /** @inheritdoc A MessagePort from the main process, wrapped as a WebSocket-like channel. */
  openVnc(id: string): VncEndpoint {
    return new PortVncChannel(this.bridge, id);
  }

  /** @inheritdoc */
  close(): void {
    this.unsubscribe();
  }
}
