/** The combined store's state type and its middleware list, shared by the slices. */
import type { SessionSlice } from './session-slice.js';
import type { UiSlice } from './ui-slice.js';
import type { VmsSlice } from './vms-slice.js';
import type { WizardSlice } from './wizard-slice.js';

/** The whole renderer state: every slice combined. */
export type AppState = VmsSlice & SessionSlice & UiSlice & WizardSlice;

/** Middleware applied to the combined store (and only there). */
export type StoreMutators = [['zustand/devtools', never]];
