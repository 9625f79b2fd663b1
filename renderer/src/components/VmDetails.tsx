/** The details pane: the selected VM's state, the configuration editor's tabs and its console. */
import { useState } from 'react';
import type { SerialPtyInfo } from '../../../protocol/index.js';
import { useAppStore, useAppStoreApi } from '../store/context.js';
import { ConsolePanel } from './console/ConsolePanel.js';
import { VmEditor } from './details/VmEditor.js';
import { EDITOR_TABS, TAB_LABELS, type EditorTab } from './details/editor-model.js';
import { selectSelectedVm } from '../store/selectors.js';
import { formatState } from '../format.js';

type DetailsTab = EditorTab | 'console';

/** Right pane. */
export function VmDetails() {
  const vm = useAppStore(selectSelectedVm);
  const [tab, setTab] = useState<DetailsTab>('overview');
  if (!vm) {
    return <p className="placeholder">Select a virtual machine to see its configuration.</p>;
  }
  const { config, state, stateReason } = vm;
  return (
    <article className="details" aria-labelledby="details-title">
      <header className="details-header">
        <h2 id="details-title">{config.name}</h2>
        <span className={`state state-${state}`} role="status" aria-label={`State: ${formatState(state)}`}>{formatState(state)}</span>
      </header>
      {stateReason && <p className={`state-reason state-reason-${state}`}>{stateReason}</p>}
      {vm.serialPty && <SerialPtyLine info={vm.serialPty} />}
      <div role="tablist" aria-label="Details views" className="tabs">
        {([...EDITOR_TABS, 'console'] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={`tab${tab === t ? ' active' : ''}`} onClick={() => setTab(t)}>
            {TAB_LABELS[t]}
          </button>
        ))}
      </div>
      {tab === 'console' && <ConsolePanel vm={vm} />}
      {/* The editor stays mounted (hidden) under the console so a draft survives a look at the screen. */}
      <div hidden={tab === 'console'}>
        <VmEditor key={config.id} vm={vm} tab={tab === 'console' ? 'overview' : tab} />
      </div>
    </article>
  );
}

/** While the VM runs with `serial.pty`: where its serial port is on the host, with a copy button (or why there is none). */
function SerialPtyLine({ info }: { info: SerialPtyInfo }) {
  const store = useAppStoreApi();
  if ('error' in info) {
    return <p className="serial-pty muted" role="note">Serial pseudo-terminal: {info.error}</p>;
  }
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(info.path);
      store.getState().notify('info', `Copied ${info.path}.`);
    } catch {
      store.getState().notify('error', `Could not copy: select ${info.path} and copy it.`);
    }
  };
  return (
    <p className="serial-pty" aria-label="Serial pseudo-terminal">
      Serial: <code>{info.path}</code>{' '}
      <button type="button" className="btn small" aria-label={`Copy ${info.path}`} onClick={() => void copy()}>Copy</button>
    </p>
  );
}
