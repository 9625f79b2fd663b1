/** Selectors: plain functions of the state, stable results (no new arrays or objects). */
import type { VmEntry } from '../../../protocol/index.js';
import type { AppState } from './types.js';

/** Every VM, sorted by name. */
export const selectVms = (s: AppState): VmEntry[] => s.vms;
/** The selected VM, or null. */
export const selectSelectedVm = (s: AppState): VmEntry | null =>
  (s.selectedId === null ? null : s.vms.find((v) => v.config.id === s.selectedId) ?? null);
/** The VM with `id`, or null. */
export const selectVmById = (id: string) => (s: AppState): VmEntry | null =>
  s.vms.find((v) => v.config.id === id) ?? null;
/** True once the list is known and empty. */
export const selectIsEmpty = (s: AppState): boolean => s.listStatus === 'ready' && s.vms.length === 0;
/** VM files that failed to load. */
export const selectLibraryErrors = (s: AppState) => s.libraryErrors;
/** The open dialog. */
export const selectDialog = (s: AppState) => s.dialog;
/** CPU statistics of VM `id`, or undefined. */
export const selectStats = (id: string) => (s: AppState) => s.stats[id];
/** The lifecycle action in flight for VM `id`, or undefined. */
export const selectPendingAction = (id: string) => (s: AppState) => s.pendingAction[id];
/** The connection state. */
export const selectConnection = (s: AppState) => s.connection;
/** Notices, oldest first. */
export const selectNotices = (s: AppState) => s.notices;
/** Host facts, or null while unknown. */
export const selectHostInfo = (s: AppState) => s.hostInfo;
/** True if `name` is taken by another VM (case-insensitive, like the host's rule). */
export const selectNameTaken = (name: string, exceptId: string | null = null) => (s: AppState): boolean => {
  const key = name.trim().toLocaleLowerCase('en-US');
  return s.vms.some((v) => v.config.id !== exceptId && v.config.name.trim().toLocaleLowerCase('en-US') === key);
};
