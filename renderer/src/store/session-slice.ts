/**
 * The `session` slice: what the UI knows about running VMs beyond their configuration,
 * mirrored from host events (CPU statistics), plus the lifecycle actions and console
 * access. The host (its supervisor) is the source of truth for run state.
 */
import type { StateCreator } from 'zustand';
import type { VmRunState, VmStats } from '../../../protocol/index.js';
import type { RendererHostClient, SerialStream, VncEndpoint } from '../host-client/index.js';
import type { AppState, StoreMutators } from './types.js';

/** A lifecycle action on a VM. */
export type VmAction = 'start' | 'stop' | 'forceOff' | 'pause' | 'resume' | 'reset';

const METHODS = {
  start: 'vm.start', stop: 'vm.shutdown', forceOff: 'vm.forceOff', pause: 'vm.pause', resume: 'vm.resume', reset: 'vm.reset',
} as const satisfies Record<VmAction, string>;

/** What each action is called in messages. */
export const ACTION_LABELS: Record<VmAction, string> = {
  start: 'Start', stop: 'Shut down', forceOff: 'Force off', pause: 'Pause', resume: 'Resume', reset: 'Reset',
};

/** The actions a VM in `state` accepts. */
export function actionsFor(state: VmRunState): ReadonlySet<VmAction> {
  switch (state) {
    case 'stopped': case 'crashed': return new Set(['start']);
    case 'running': return new Set(['pause', 'reset', 'stop', 'forceOff']);
    case 'paused': return new Set(['resume', 'reset', 'stop', 'forceOff']);
    case 'starting': case 'stopping': return new Set(['forceOff']);
  }
}

/** State and actions of the session slice. */
export interface SessionSlice {
  /** Latest CPU statistics per VM id (only VMs that ran since the page loaded). */
  stats: Record<string, VmStats>;
  /** The action in flight per VM id. */
  pendingAction: Record<string, VmAction>;
  /** Applies a `vm.stats` event. */
  applyStats(stats: VmStats): void;
  /** Runs a lifecycle action; failures become an error notice naming the VM. */
  runVmAction(id: string, action: VmAction): Promise<void>;
  /** A PNG snapshot of the VM's screen, as base64. */
  screenshot(id: string): Promise<string>;
  /** Opens the VM's serial console. */
  openSerial(id: string): SerialStream;
  /** Where the VM's screen (RFB) is reached, for noVNC. */
  openVnc(id: string): VncEndpoint;
  /** Presses a key chord (set-1 scan codes, released in reverse order) on the VM's keyboard. */
  sendKeys(id: string, keys: number[]): Promise<void>;
}

/** Creates the session slice bound to `client`. */
export function createSessionSlice(client: RendererHostClient): StateCreator<AppState, StoreMutators, [], SessionSlice> {
  return (set, get) => ({
    stats: {},
    pendingAction: {},
    applyStats(stats) {
      set({ stats: { ...get().stats, [stats.id]: stats } }, undefined, 'session/stats');
    },
    async runVmAction(id, action) {
      set({ pendingAction: { ...get().pendingAction, [id]: action } }, undefined, 'session/actionStart');
      try {
        const entry = await client.call(METHODS[action], { id });
        get().applyVmChanged(entry);
        // A guest that ignores the ACPI power button stays running; the host says why.
        if (action === 'stop' && entry.state !== 'stopped' && entry.stateReason) {
          get().notify('error', `${entry.config.name}: ${entry.stateReason}`);
        }
      } catch (err) {
        const name = get().vms.find((v) => v.config.id === id)?.config.name ?? id;
        get().notify('error', `${ACTION_LABELS[action]} “${name}” failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        const { [id]: _done, ...rest } = get().pendingAction;
        set({ pendingAction: rest }, undefined, 'session/actionEnd');
      }
    },
    async screenshot(id) {
      return (await client.call('vm.screenshot', { id })).pngBase64;
    },
    openSerial(id) {
      return client.openSerial(id);
    },
    openVnc(id) {
      return client.openVnc(id);
    },
    async sendKeys(id, keys) {
      await client.call('vm.sendKeys', { id, keys });
    },
  });
}
