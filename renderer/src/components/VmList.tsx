/**
 * The VM list (left pane): a listbox with roving focus. Up/Down/Home/End move the
 * selection, Delete opens the delete confirmation.
 */
import { useRef, type KeyboardEvent } from 'react';
import { useAppStore } from '../store/context.js';
import type { VmEntry } from '../../../protocol/index.js';
import { selectStats, selectVms } from '../store/selectors.js';
import { formatState } from '../format.js';
import { Sparkline } from './Sparkline.js';

/** The CPU sparkline of a running or paused VM (nothing otherwise). */
function VmCpu({ vm }: { vm: VmEntry }) {
  const stats = useAppStore(selectStats(vm.config.id));
  if (!stats || (vm.state !== 'running' && vm.state !== 'paused')) return null;
  return <Sparkline stats={stats} />;
}

/** The list of VMs. */
export function VmList() {
  const vms = useAppStore(selectVms);
  const selectedId = useAppStore((s) => s.selectedId);
  const select = useAppStore((s) => s.select);
  const openDialog = useAppStore((s) => s.openDialog);
  const listRef = useRef<HTMLUListElement>(null);

  const focusIndex = (i: number): void => {
    const vm = vms[i];
    if (!vm) return;
    select(vm.config.id);
    listRef.current?.querySelectorAll<HTMLElement>('[role="option"]')[i]?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLUListElement>): void => {
    const current = vms.findIndex((v) => v.config.id === selectedId);
    switch (e.key) {
      case 'ArrowDown': focusIndex(Math.min(current + 1, vms.length - 1)); break;
      case 'ArrowUp': focusIndex(Math.max(current - 1, 0)); break;
      case 'Home': focusIndex(0); break;
      case 'End': focusIndex(vms.length - 1); break;
      case 'Delete':
        if (selectedId) openDialog({ kind: 'delete-vm', id: selectedId });
        break;
      default: return;
    }
    e.preventDefault();
  };

  if (vms.length === 0) return null;
  const tabStop = vms.some((v) => v.config.id === selectedId) ? selectedId : vms[0]?.config.id;
  return (
    <ul ref={listRef} className="vm-list" role="listbox" aria-label="Virtual machines" onKeyDown={onKeyDown}>
      {vms.map((vm) => { const { config, state, stateReason } = vm; return (
        <li
          key={config.id}
          role="option"
          aria-selected={config.id === selectedId}
          tabIndex={config.id === tabStop ? 0 : -1}
          className="vm-item"
          onClick={() => select(config.id)}
          onFocus={() => { if (selectedId === null) select(config.id); }}
        >
          <span className="vm-name">{config.name}</span>
          <span className="vm-meta">
            <span className="vm-os">{config.os.name}</span>
            <VmCpu vm={vm} />
            <span className={`state state-${state}`} title={stateReason}>{formatState(state)}</span>
          </span>
        </li>
      ); })}
    </ul>
  );
}
