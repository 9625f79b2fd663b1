/**
 * The `vms` slice: a mirror of the host's VM list. Filled by `vm.list`, then kept up to
 * date by `vm.changed` / `vm.removed` events; the host is the source of truth.
 */
import type { StateCreator } from 'zustand';
import type { ApiResult, LibraryError, VmConfig, VmConfigDraft, VmEntry } from '../../../protocol/index.js';
import type { RendererHostClient } from '../host-client/index.js';
import type { AppState, StoreMutators } from './types.js';

/** State and actions of the vms slice. */
export interface VmsSlice {
  /** Every VM, sorted by name. */
  vms: VmEntry[];
  /** VM files the host could not load. */
  libraryErrors: LibraryError[];
  /** Whether the list has been fetched. */
  listStatus: 'idle' | 'loading' | 'ready' | 'error';
  /** Why the last fetch failed. */
  listError: string | null;
  /** Fetches the list from the host. */
  refreshVms(): Promise<void>;
  /** Applies a `vm.changed` event (insert or replace). */
  applyVmChanged(entry: VmEntry): void;
  /** Applies a `vm.removed` event. */
  applyVmRemoved(id: string): void;
  /** Creates a VM; resolves to it, rejects with the host's ApiError. */
  createVm(draft: VmConfigDraft): Promise<VmEntry>;
  /** Saves a VM's configuration (vm.update); rejects with the host's ApiError. */
  updateVm(id: string, config: VmConfig): Promise<VmEntry>;
  /** Clones a VM (vm.clone), optionally copying its disk images. */
  cloneVm(id: string, name: string, copyDisks: boolean): Promise<ApiResult<'vm.clone'>>;
  /** Deletes a VM and the listed disk images. */
  deleteVm(id: string, deleteDrivePaths: string[]): Promise<ApiResult<'vm.delete'>>;
}

function sortVms(vms: VmEntry[]): VmEntry[] {
  return [...vms].sort((a, b) => a.config.name.localeCompare(b.config.name) || a.config.id.localeCompare(b.config.id));
}

/** Creates the vms slice bound to `client`. */
export function createVmsSlice(client: RendererHostClient): StateCreator<AppState, StoreMutators, [], VmsSlice> {
  return (set, get) => ({
    vms: [],
    libraryErrors: [],
    listStatus: 'idle',
    listError: null,
    async refreshVms() {
      set({ listStatus: 'loading' }, undefined, 'vms/refresh');
      try {
        const { vms, errors } = await client.call('vm.list', {});
        set({ vms: sortVms(vms), libraryErrors: errors, listStatus: 'ready', listError: null }, undefined, 'vms/loaded');
        const selected = get().selectedId;
        if (selected !== null && !vms.some((v) => v.config.id === selected)) get().select(null);
      } catch (err) {
        set({ listStatus: 'error', listError: err instanceof Error ? err.message : String(err) }, undefined, 'vms/failed');
      }
    },
    applyVmChanged(entry) {
      const others = get().vms.filter((v) => v.config.id !== entry.config.id);
      set({ vms: sortVms([...others, entry]) }, undefined, 'vms/changed');
    },
    applyVmRemoved(id) {
      set({ vms: get().vms.filter((v) => v.config.id !== id) }, undefined, 'vms/removed');
      if (get().selectedId === id) get().select(null);
    },
    async createVm(draft) {
      const entry = await client.call('vm.create', { draft });
      get().applyVmChanged(entry);
      return entry;
    },
    async updateVm(id, config) {
      const entry = await client.call('vm.update', { id, config });
      get().applyVmChanged(entry);
      return entry;
    },
    async cloneVm(id, name, copyDisks) {
      const result = await client.call('vm.clone', { id, name, copyDisks });
      get().applyVmChanged(result.entry);
      return result;
    },
    async deleteVm(id, deleteDrivePaths) {
      const result = await client.call('vm.delete', { id, deleteDrivePaths });
      get().applyVmRemoved(id);
      return result;
    },
  });
}
