/** The toolbar: New and Delete, the selected VM's run controls, plus the host summary. */
import { selectHostInfo, selectSelectedVm } from '../store/selectors.js';
import { useAppStore } from '../store/context.js';
import { formatBytesGiB } from '../format.js';
import { VmActions } from './VmActions.js';

/** Top bar of the window. */
export function Toolbar() {
  const selected = useAppStore(selectSelectedVm);
  const host = useAppStore(selectHostInfo);
  const openDialog = useAppStore((s) => s.openDialog);
  return (
    <header className="toolbar" role="toolbar" aria-label="Virtual machine actions">
      <span className="brand" aria-hidden="true">Vireo</span>
      <button type="button" className="btn primary" onClick={() => openDialog({ kind: 'new-vm' })}>
        <span aria-hidden="true">+</span> New VM
      </button>
      <button
        type="button"
        className="btn"
        disabled={!selected || (selected.state !== 'stopped' && selected.state !== 'crashed')}
        onClick={() => { if (selected) openDialog({ kind: 'delete-vm', id: selected.config.id }); }}
        title={!selected ? 'Select a VM to delete it'
          : selected.state !== 'stopped' && selected.state !== 'crashed' ? `Shut ${selected.config.name} down before deleting it`
            : `Delete ${selected.config.name}`}
      >
        Delete
      </button>
      <button
        type="button"
        className="btn"
        disabled={!selected}
        onClick={() => { if (selected) openDialog({ kind: 'clone-vm', id: selected.config.id }); }}
        title={selected ? `Clone ${selected.config.name}` : 'Select a VM to clone it'}
      >
        Clone
      </button>
      <span className="toolbar-sep" aria-hidden="true" />
      <VmActions vm={selected} />
      <span className="spacer" />
      {host && (
        <span className="host-summary" title={`Vireo ${host.version} (${host.shell})`}>
          Host: {host.cpus} CPUs · {formatBytesGiB(host.memoryBytes)}
        </span>
      )}
    </header>
  );
}
