/** The desktop-manager layout: toolbar, banners, VM list on the left, details on the right. */
import { useAppStore } from '../store/context.js';
import { selectDialog, selectIsEmpty } from '../store/selectors.js';
import { ConnectionBanner, LoadErrorsBanner, Notices } from './Banners.js';
import { DeleteVmDialog } from './DeleteVmDialog.js';
import { CloneVmDialog } from './details/CloneVmDialog.js';
import { EmptyState } from './EmptyState.js';
import { Toolbar } from './Toolbar.js';
import { VmDetails } from './VmDetails.js';
import { VmList } from './VmList.js';
import { NewVmWizard } from './wizard/NewVmWizard.js';

/** Root component. */
export function App() {
  const dialog = useAppStore(selectDialog);
  const empty = useAppStore(selectIsEmpty);
  const loading = useAppStore((s) => s.listStatus === 'idle' || s.listStatus === 'loading') ;
  return (
    <div className="app">
      <Toolbar />
      <ConnectionBanner />
      <LoadErrorsBanner />
      <Notices />
      {empty ? (
        <main className="main-empty"><EmptyState /></main>
      ) : (
        <main className="panes">
          <nav className="pane-list" aria-label="Virtual machine list">
            {loading ? <p className="placeholder">Loading…</p> : <VmList />}
          </nav>
          <section className="pane-details" aria-label="Details">
            <VmDetails />
          </section>
        </main>
      )}
      {dialog.kind === 'new-vm' && <NewVmWizard />}
      {dialog.kind === 'delete-vm' && <DeleteVmDialog key={dialog.id} id={dialog.id} />}
      {dialog.kind === 'clone-vm' && <CloneVmDialog key={dialog.id} id={dialog.id} />}
    </div>
  );
}
