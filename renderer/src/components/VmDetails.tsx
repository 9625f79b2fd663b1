/** The details pane: the selected VM's state and run controls, its configuration and its console. */
import { useState } from 'react';
import { useAppStore } from '../store/context.js';
import { ConsolePanel } from './console/ConsolePanel.js';
import { selectSelectedVm } from '../store/selectors.js';
import { formatDateTime, formatMiB, formatState } from '../format.js';

const BOOT_LABELS = { cdrom: 'CD-ROM', disk: 'Disk', network: 'Network' } as const;

type DetailsTab = 'overview' | 'console';

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
      <div role="tablist" aria-label="Details views" className="tabs">
        {(['overview', 'console'] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={`tab${tab === t ? ' active' : ''}`} onClick={() => setTab(t)}>
            {t === 'overview' ? 'Overview' : 'Console'}
          </button>
        ))}
      </div>
      {tab === 'console' ? <ConsolePanel vm={vm} /> : <>
      <section aria-labelledby="overview-title">
        <h3 id="overview-title">Overview</h3>
        <dl className="props">
          <dt>Operating system</dt><dd>{config.os.name}</dd>
          <dt>Memory</dt><dd>{formatMiB(config.memoryMiB)}</dd>
          <dt>CPUs</dt><dd>{config.cpus}</dd>
          <dt>Firmware</dt><dd>{config.firmware === 'uefi' ? 'UEFI' : 'BIOS'}</dd>
          <dt>Boot order</dt><dd>{config.bootOrder.map((d) => BOOT_LABELS[d]).join(', ')}</dd>
          <dt>Network</dt><dd>{config.network.mode === 'none' ? 'None' : `User-mode NAT (${config.network.model})`}</dd>
          <dt>CPU backend</dt><dd>{config.backend}</dd>
          <dt>Created</dt><dd>{formatDateTime(config.createdAt)}</dd>
          <dt>ID</dt><dd><code>{config.id}</code></dd>
        </dl>
      </section>
      <section aria-labelledby="drives-title">
        <h3 id="drives-title">Drives</h3>
        {config.drives.length === 0 ? (
          <p className="muted">No drives attached.</p>
        ) : (
          <table className="drives">
            <thead><tr><th scope="col">Drive</th><th scope="col">Kind</th><th scope="col">Bus</th><th scope="col">Format</th><th scope="col">Image</th></tr></thead>
            <tbody>
              {config.drives.map((d) => (
                <tr key={d.id}>
                  <td>{d.id}</td><td>{d.kind === 'cdrom' ? 'CD-ROM' : 'Disk'}{d.readOnly ? ' (read-only)' : ''}</td>
                  <td>{d.bus}</td><td>{d.format}</td><td><code>{d.path || '(empty)'}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      </>}
    </article>
  );
}
