/**
 * Preload of the desktop shell (sandboxed, bundled to CommonJS by scripts/build-preload.mjs).
 *
 * Exposes exactly one object, `window.vireo` ({@link VireoBridge}): `call`, `onEvent`,
 * `openSerial` and `openVnc`. A serial console, like a screen (RFB) connection, is a
 * MessagePort from the main process; contextBridge
 * cannot carry ports, so the preload forwards it to the page with `window.postMessage`
 * (as Electron's MessagePort guide and VS Code's `ipcMessagePort.acquire` do), only for a
 * nonce the page itself asked for.
 * No raw ipcRenderer reaches the page, and only `vireo:` channels on the allowlist are
 * used. Messages are passed through as plain data; the renderer validates everything it
 * receives with the protocol schemas, and the main process validates every call.
 * No getters with side effects on the exposed object (contextBridge copies it).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { VireoBridge } from '../../protocol/api.js';

/** Channels this preload may use (keep in sync with IPC_CHANNELS in protocol/api.ts). */
const CHANNELS = {
  call: 'vireo:call', event: 'vireo:event', serialOpen: 'vireo:serial-open', serialPort: 'vireo:serial-port',
  vncOpen: 'vireo:vnc-open', vncPort: 'vireo:vnc-port',
} as const;
const ALLOWED = new Set<string>(Object.values(CHANNELS));

function checked(channel: string): string {
  if (!channel.startsWith('vireo:') || !ALLOWED.has(channel)) throw new Error(`Unsupported IPC channel "${channel}"`);
  return channel;
}

let nextId = 1;

/** The page's window as far as this preload uses it (the preload is type-checked without the DOM lib). */
const page = globalThis as unknown as { postMessage(message: unknown, targetOrigin: string, transfer: readonly unknown[]): void };

/** Nonces of serial ports the page asked for and has not received yet. */
const awaitedPorts = new Set<string>();
/** Nonces of screen (RFB) ports the page asked for and has not received yet. */
const awaitedVncPorts = new Set<string>();

/** Forwards a port from main to the page, only for a nonce the page asked for. */
function forwardPort(awaited: Set<string>, kind: string) {
  return (event: IpcRendererEvent, message: unknown): void => {
    const nonce = typeof message === 'object' && message !== null ? (message as { nonce?: unknown }).nonce : undefined;
    if (typeof nonce !== 'string' || !awaited.delete(nonce) || event.ports.length !== 1) return;
    page.postMessage({ kind, nonce }, '*', event.ports);
  };
}

ipcRenderer.on(checked(CHANNELS.serialPort), forwardPort(awaitedPorts, 'vireo:serial-port'));
ipcRenderer.on(checked(CHANNELS.vncPort), forwardPort(awaitedVncPorts, 'vireo:vnc-port'));

/** Asks main for a port on `channel`; the nonce stays awaited only while the request succeeds. */
async function requestPort(channel: string, awaited: Set<string>, id: string, nonce: string): Promise<unknown> {
  if (typeof id !== 'string' || typeof nonce !== 'string') throw new TypeError('expected (id: string, nonce: string)');
  awaited.add(nonce);
  try {
    const answer: unknown = await ipcRenderer.invoke(checked(channel), { id, nonce });
    if (typeof answer !== 'object' || answer === null || (answer as { ok?: unknown }).ok !== true) awaited.delete(nonce);
    return answer;
  } catch (err) {
    awaited.delete(nonce);
    throw err;
  }
}

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
  openSerial(id: string, nonce: string): Promise<unknown> {
    return requestPort(CHANNELS.serialOpen, awaitedPorts, id, nonce);
  },
  openVnc(id: string, nonce: string): Promise<unknown> {
    return requestPort(CHANNELS.vncOpen, awaitedVncPorts, id, nonce);
  },
};

contextBridge.exposeInMainWorld('vireo', bridge);
