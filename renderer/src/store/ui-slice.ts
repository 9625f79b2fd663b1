/** The `ui` slice: selection, the open dialog, notices, connection and host facts. */
import type { StateCreator } from 'zustand';
import type { HostInfo } from '../../../protocol/index.js';
import type { ConnectionState } from '../host-client/index.js';
import type { AppState, StoreMutators } from './types.js';

/** Which dialog is open. */
export type DialogState = { kind: 'none' } | { kind: 'new-vm' } | { kind: 'delete-vm'; id: string } | { kind: 'clone-vm'; id: string };

/** A transient message shown above the panes. */
export interface Notice {
  id: number;
  tone: 'info' | 'error';
  text: string;
}

/** State and actions of the ui slice. */
export interface UiSlice {
  /** Id of the selected VM, or null. */
  selectedId: string | null;
  /** The open dialog. */
  dialog: DialogState;
  /** Notices, oldest first. */
  notices: Notice[];
  /** Connection to the host. */
  connection: ConnectionState;
  /** Facts about the host, once known. */
  hostInfo: HostInfo | null;
  /** Selects a VM (or nothing). */
  select(id: string | null): void;
  /** Opens a dialog (replacing any open one). */
  openDialog(dialog: Exclude<DialogState, { kind: 'none' }>): void;
  /** Closes the open dialog. */
  closeDialog(): void;
  /** Adds a notice. */
  notify(tone: Notice['tone'], text: string): void;
  /** Removes a notice. */
  dismissNotice(id: number): void;
  /** Records the connection state. */
  setConnection(state: ConnectionState): void;
  /** Records the host facts. */
  setHostInfo(info: HostInfo): void;
}

/** Creates the ui slice. */
export function createUiSlice(): StateCreator<AppState, StoreMutators, [], UiSlice> {
  let nextNoticeId = 1;
  return (set, get) => ({
    selectedId: null,
    dialog: { kind: 'none' },
    notices: [],
    connection: 'connecting',
    hostInfo: null,
    select: (id) => set({ selectedId: id }, undefined, 'ui/select'),
    openDialog: (dialog) => set({ dialog }, undefined, 'ui/openDialog'),
    closeDialog: () => set({ dialog: { kind: 'none' } }, undefined, 'ui/closeDialog'),
    notify: (tone, text) => set({ notices: [...get().notices, { id: nextNoticeId++, tone, text }] }, undefined, 'ui/notify'),
    dismissNotice: (id) => set({ notices: get().notices.filter((n) => n.id !== id) }, undefined, 'ui/dismissNotice'),
    setConnection: (connection) => set({ connection }, undefined, 'ui/connection'),
    setHostInfo: (hostInfo) => set({ hostInfo }, undefined, 'ui/hostInfo'),
  });
}
