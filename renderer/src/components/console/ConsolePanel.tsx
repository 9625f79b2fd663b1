/** The "Console" panel: tabs "Screen" (the guest's display) and "Serial" (COM1 in a terminal). */
import { Suspense, lazy, useState } from 'react';
import type { VmEntry } from '../../../../protocol/index.js';
import { ScreenView } from './ScreenView.js';

/** xterm.js is loaded when a serial console is first shown (keeps it out of the start-up bundle). */
const SerialConsole = lazy(() => import('./SerialConsole.js').then((m) => ({ default: m.SerialConsole })));

type ConsoleTab = 'screen' | 'serial';

/** Console of `vm`; only the shown tab is mounted (no snapshots or socket for a hidden one). */
export function ConsolePanel({ vm }: { vm: VmEntry }) {
  const [tab, setTab] = useState<ConsoleTab>('screen');
  const tabButton = (value: ConsoleTab, label: string) => (
    <button
      type="button"
      role="tab"
      id={`console-tab-${value}`}
      aria-selected={tab === value}
      aria-controls={`console-panel-${value}`}
      className={`tab${tab === value ? ' active' : ''}`}
      onClick={() => setTab(value)}
    >
      {label}
    </button>
  );
  return (
    <section className="console-panel" aria-label="Console">
      <div role="tablist" aria-label="Console views" className="tabs">
        {tabButton('screen', 'Screen')}
        {tabButton('serial', 'Serial')}
      </div>
      <div role="tabpanel" id={`console-panel-${tab}`} aria-labelledby={`console-tab-${tab}`}>
        {tab === 'screen' ? <ScreenView vm={vm} /> : (
          <Suspense fallback={<p className="placeholder">Loading the terminal…</p>}>
            <SerialConsole key={vm.config.id} vmId={vm.config.id} vmName={vm.config.name} />
          </Suspense>
        )}
      </div>
    </section>
  );
}
