/** Lifecycle buttons for one VM: Start, Pause/Resume, Reset, Shut down, Force off (enabled per state). */
import type { VmEntry } from '../../../protocol/index.js';
import { useAppStore } from '../store/context.js';
import { selectPendingAction } from '../store/selectors.js';
import { ACTION_LABELS, actionsFor, type VmAction } from '../store/session-slice.js';

const TITLES: Record<VmAction, string> = {
  start: 'Power on the VM',
  pause: 'Pause the VM (its CPU stops; memory is kept)',
  resume: 'Continue the paused VM',
  reset: 'Press the reset button',
  stop: 'Shut the VM down: presses the ACPI power button and waits for the guest to power off',
  forceOff: 'Pull the plug: ends the VM at once (unsaved guest data is lost)',
};

/** The buttons; `vm` null renders them disabled. */
export function VmActions({ vm }: { vm: VmEntry | null }) {
  const runVmAction = useAppStore((s) => s.runVmAction);
  const pending = useAppStore(selectPendingAction(vm?.config.id ?? ''));
  const allowed = vm ? actionsFor(vm.state) : new Set<VmAction>();
  const button = (action: VmAction, className = 'btn') => (
    <button
      key={action}
      type="button"
      className={className}
      disabled={!vm || !allowed.has(action) || (pending !== undefined && action !== 'forceOff')}
      title={vm ? `${TITLES[action]}: ${vm.config.name}` : 'Select a VM'}
      onClick={() => { if (vm) void runVmAction(vm.config.id, action); }}
    >
      {ACTION_LABELS[action]}
    </button>
  );
  const paused = vm?.state === 'paused';
  return (
    <span className="vm-actions" role="group" aria-label="Run controls">
      {button('start', 'btn primary')}
      {paused ? button('resume') : button('pause')}
      {button('reset')}
      {button('stop')}
      {button('forceOff', 'btn danger')}
    </span>
  );
}
