/**
 * The `wizard` slice: what the New-VM wizard asks of the host (install media inspection, OS
 * presets, host resources, disk creation, the file browser, the virtio-win download) and
 * the downloads' state mirrored from `download.*` events.
 */
import type { StateCreator } from 'zustand';
import type { ApiParams, ApiResult, DownloadProgress } from '../../../protocol/index.js';
import type { RendererHostClient } from '../host-client/index.js';
import type { AppState, StoreMutators } from './types.js';

/** A download as the UI sees it. */
export interface DownloadState {
  id: string;
  url: string;
  /** Where the file will be (or is). */
  path: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  progress: DownloadProgress | null;
  /** Why it failed. */
  error: string | null;
  /** The ISO's label once verified. */
  label: string | null;
}

/** State and actions of the wizard slice. */
export interface WizardSlice {
  /** Downloads started from this window, by id. */
  downloads: Record<string, DownloadState>;
  /** Reads an install ISO (labels, detected OS). */
  inspectIso(path: string): Promise<ApiResult<'iso.inspect'>>;
  /** The OS presets and whether osinfo-db is used. */
  loadOsPresets(): Promise<ApiResult<'os.presets'>>;
  /** Host CPUs, memory and the default image folder. */
  loadHostResources(): Promise<ApiResult<'host.resources'>>;
  /** Creates a disk image. */
  createDisk(params: ApiParams<'disk.create'>): Promise<ApiResult<'disk.create'>>;
  /** Lists a folder for the server-side file browser. */
  listFiles(dir?: string): Promise<ApiResult<'files.list'>>;
  /** The desktop app's native open-file dialog (rejects 'unsupported' in the browser shell). */
  openFileDialog(params: ApiParams<'dialog.openFile'>): Promise<string | null>;
  /** Starts a download; resolves with its id once the host accepted it. */
  startDownload(params: ApiParams<'download.start'>): Promise<string>;
  /** Cancels a download. */
  cancelDownload(id: string): Promise<void>;
  /** Applies a download.* event. */
  applyDownloadEvent(
    e: { kind: 'progress'; payload: DownloadProgress }
      | { kind: 'done'; payload: { id: string; path: string; label: string | null } }
      | { kind: 'failed'; payload: { id: string; error: string; cancelled: boolean } },
  ): void;
}

/** Creates the wizard slice bound to `client`. */
export function createWizardSlice(client: RendererHostClient): StateCreator<AppState, StoreMutators, [], WizardSlice> {
  return (set, get) => {
    /** Changes heard before the host's answer to download.start (or for other windows' downloads). */
    const early = new Map<string, Partial<DownloadState>>();
    const patch = (id: string, change: Partial<DownloadState>): void => {
      const current = get().downloads[id];
      if (!current) {
        if (early.size > 64) early.clear();
        early.set(id, { ...early.get(id), ...change });
        return;
      }
      set({ downloads: { ...get().downloads, [id]: { ...current, ...change } } }, undefined, 'wizard/download');
    };
    return {
      downloads: {},
      inspectIso: (path) => client.call('iso.inspect', { path }),
      loadOsPresets: () => client.call('os.presets', {}),
      loadHostResources: () => client.call('host.resources', {}),
      createDisk: (params) => client.call('disk.create', params),
      listFiles: (dir) => client.call('files.list', dir === undefined ? {} : { dir }),
      openFileDialog: async (params) => (await client.call('dialog.openFile', params)).path,
      async startDownload(params) {
        const started = await client.call('download.start', params);
        // Events may have overtaken the answer: apply what they said.
        const heard = early.get(started.id) ?? {};
        early.delete(started.id);
        set({
          downloads: {
            ...get().downloads,
            [started.id]: { id: started.id, url: started.url, path: started.path, status: 'running', progress: null, error: null, label: null, ...heard },
          },
        }, undefined, 'wizard/downloadStarted');
        return started.id;
      },
      async cancelDownload(id) {
        await client.call('download.cancel', { id });
      },
      applyDownloadEvent(e) {
        if (e.kind === 'progress') patch(e.payload.id, { progress: e.payload });
        else if (e.kind === 'done') patch(e.payload.id, { status: 'done', path: e.payload.path, label: e.payload.label });
        else patch(e.payload.id, { status: e.payload.cancelled ? 'cancelled' : 'failed', error: e.payload.error });
      },
    };
  };
}
