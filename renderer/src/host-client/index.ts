/**
 * Picks the host client for the shell the page runs in: the Electron preload bridge when
 * `window.vireo` exists, otherwise the WebSocket API of the server that served the page.
 */
import type { VireoBridge } from '../../../protocol/index.js';
import type { RendererHostClient } from './client-core.js';
import { PreloadHostClient } from './preload-client.js';
import { WebSocketHostClient } from './ws-client.js';

export type { ConnectionState, RendererHostClient } from './client-core.js';
export { PreloadHostClient } from './preload-client.js';
export { WebSocketHostClient, serialUrlFor } from './ws-client.js';
export type { SerialStatus, SerialStream } from './serial-stream.js';
export { PortVncChannel, vncUrlFor, type VncEndpoint } from './vnc-channel.js';

declare global {
  interface Window {
    /** Exposed by the Electron preload; absent in a browser. */
    vireo?: VireoBridge;
  }
}

/** The WebSocket API URL for a page served by the browser shell (forwards `?token=`). */
export function apiUrlFor(location: Pick<Location, 'protocol' | 'host' | 'search'>): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const token = new URLSearchParams(location.search).get('token');
  return `${scheme}://${location.host}/api${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

/** Creates the client for this page; throws if the page has no way to reach a host. */
export function chooseHostClient(win: Window = window): RendererHostClient {
  if (win.vireo) return new PreloadHostClient(win.vireo);
  if (win.location.protocol === 'http:' || win.location.protocol === 'https:') {
    return new WebSocketHostClient({ url: apiUrlFor(win.location) });
  }
  throw new Error('No Vireo host: the preload bridge is missing and the page was not served by `npm run serve`.');
}
