/**
 * Preload of the desktop shell (sandboxed, bundled to CommonJS by scripts/build-preload.mjs).
 *
 * Exposes exactly one object, `window.vireo` ({@link VireoBridge}): `call` and `onEvent`.
 * No raw ipcRenderer reaches the page, and only `vireo:` channels on the allowlist are
 * used. Messages are passed through as plain data; the renderer validates everything it
 * receives with the protocol schemas, and the main process validates every call.
 * No getters with side effects on the exposed object (contextBridge copies it).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { VireoBridge } from '../../protocol/api.js';

/** Channels this preload may use (keep in sync with IPC_CHANNELS in protocol/api.ts). */
const CHANNELS = { call: 'vireo:call', event: 'vireo:event' } as const;
const ALLOWED = new Set<string>(Object.values(CHANNELS));

function checked(channel: string): string {
  if (!channel.startsWith('vireo:') || !ALLOWED.has(channel)) throw new Error(`Unsupported IPC channel "${channel}"`);
  return channel;
}

let nextId = 1;

const bridge: VireoBridge = {
  call(method: string, params: unknown): Promise<unknown> {
    if (typeof method !== 'string') return Promise.reject(new TypeError('method: expected a string'));
    return ipcRenderer.invoke(checked(CHANNELS.call), { kind: 'call', id: nextId++, method, params });
  },
  onEvent(listener: (message: unknown) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener: expected a function');
    const wrapped = (_event: IpcRendererEvent, message: unknown): void => listener(message);
    ipcRenderer.on(checked(CHANNELS.event), wrapped);
    return () => { ipcRenderer.removeListener(CHANNELS.event, wrapped); };
  },
};

contextBridge.exposeInMainWorld('vireo', bridge);
