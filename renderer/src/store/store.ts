/**
 * The renderer store: the slices combined, middleware applied once on the combined store
 * (zustand's slices pattern), and the binding that keeps it in sync with the host.
 */
import { devtools } from 'zustand/middleware';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { RendererHostClient } from '../host-client/index.js';
import type { AppState } from './types.js';
import { createSessionSlice } from './session-slice.js';
import { createUiSlice } from './ui-slice.js';
import { createVmsSlice } from './vms-slice.js';
import { createWizardSlice } from './wizard-slice.js';

export type { AppState } from './types.js';

/** The vanilla store (React reads it through `useAppStore`). */
export type AppStore = StoreApi<AppState>;

// ====== composition ======

/** Creates the store; actions talk to the host through `client`. */
export function createAppStore(client: RendererHostClient): AppStore {
  return createStore<AppState>()(
    devtools(
      (...a) => ({
        ...createVmsSlice(client)(...a),
        ...createSessionSlice(client)(...a),
        ...createUiSlice()(...a),
        ...createWizardSlice(client)(...a),
      }),
      { name: 'vireo', enabled: import.meta.env.DEV },
    ),
  );
}

// ====== host binding ======

/**
 * Mirrors host events into the store, refreshes the list (and host facts) on every
 * (re)connection, since events may have been missed while disconnected. Returns the
 * function that undoes the binding.
 */
export function bindStoreToHost(store: AppStore, client: RendererHostClient): () => void {
  const s = (): AppState => store.getState();
  const onOpen = (): void => {
    void s().refreshVms();
    client.call('host.info', {}).then((info) => s().setHostInfo(info), () => undefined);
  };
  const offs = [
    client.on('vm.changed', (entry) => s().applyVmChanged(entry)),
    client.on('vm.removed', ({ id }) => s().applyVmRemoved(id)),
    client.on('vm.stats', (stats) => s().applyStats(stats)),
    client.on('download.progress', (payload) => s().applyDownloadEvent({ kind: 'progress', payload })),
    client.on('download.done', (payload) => s().applyDownloadEvent({ kind: 'done', payload })),
    client.on('download.failed', (payload) => s().applyDownloadEvent({ kind: 'failed', payload })),
    client.onConnection((state) => {
      s().setConnection(state);
      if (state === 'open') onOpen();
    }),
  ];
  s().setConnection(client.connection());
  if (client.connection() === 'open') onOpen();
  return () => offs.forEach((off) => off());
}
