/** Banners above the panes: connection state, VM files that failed to load, notices. */
import { useAppStore } from '../store/context.js';
import { selectConnection, selectLibraryErrors, selectNotices } from '../store/selectors.js';

/** Tells the user when the host is unreachable. */
export function ConnectionBanner() {
  const connection = useAppStore(selectConnection);
  const listError = useAppStore((s) => (s.listStatus === 'error' ? s.listError : null));
  if (connection === 'closed') {
    return (
      <div className="banner warning" role="status">
        Not connected to the Vireo host; retrying. If this persists, open the URL (with its token)
        that <code>npm run serve</code> printed.
      </div>
    );
  }
  if (listError) return <div className="banner error" role="alert">Could not load the VM list: {listError}</div>;
  return null;
}

/** Lists VM files in the data directory that could not be loaded, with the reason. */
export function LoadErrorsBanner() {
  const errors = useAppStore(selectLibraryErrors);
  if (errors.length === 0) return null;
  return (
    <div className="banner error" role="alert" aria-labelledby="load-errors-title">
      <strong id="load-errors-title">
        {errors.length === 1 ? '1 VM file could not be loaded' : `${errors.length} VM files could not be loaded`}
      </strong>
      {' '}(the other VMs are fine; fix or remove these files, then restart Vireo):
      <ul className="load-errors">
        {errors.map((e) => (
          <li key={e.file}><code>{e.file}</code>: {e.error}</li>
        ))}
      </ul>
    </div>
  );
}

/** Transient notices with a dismiss button. */
export function Notices() {
  const notices = useAppStore(selectNotices);
  const dismiss = useAppStore((s) => s.dismissNotice);
  if (notices.length === 0) return null;
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`banner ${n.tone === 'error' ? 'error' : 'info'}`} role={n.tone === 'error' ? 'alert' : 'status'}>
          <span>{n.text}</span>
          <button type="button" className="btn small" onClick={() => dismiss(n.id)} aria-label="Dismiss">✕</button>
        </div>
      ))}
    </div>
  );
}
