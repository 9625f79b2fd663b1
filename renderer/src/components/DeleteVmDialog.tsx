/**
 * Delete confirmation. The VM's configuration is removed; each disk image is kept unless
 * its box is ticked (default: keep). Install media on CD-ROM drives are never offered.
 */
import { useState, type FormEvent } from 'react';
import { useAppStore, useAppStoreApi } from '../store/context.js';
import { selectVmById } from '../store/selectors.js';
import { Modal } from './Modal.js';

/** The dialog for VM `id`; mounted while open. */
export function DeleteVmDialog({ id }: { id: string }) {
  const store = useAppStoreApi();
  const vm = useAppStore(selectVmById(id));
  const closeDialog = useAppStore((s) => s.closeDialog);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (!vm) {
    return (
      <Modal title="Delete virtual machine" onCancel={closeDialog}>
        <p>This VM no longer exists.</p>
        <div className="actions"><button type="button" className="btn" onClick={closeDialog} data-autofocus>Close</button></div>
      </Modal>
    );
  }
  const disks = vm.config.drives.filter((d) => d.kind === 'disk' && d.path !== '');

  const toggle = (path: string, on: boolean): void => {
    const next = new Set(chosen);
    if (on) next.add(path);
    else next.delete(path);
    setChosen(next);
  };

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const result = await store.getState().deleteVm(id, [...chosen]);
      const s = store.getState();
      for (const f of result.failedFiles ?? []) s.notify('error', `Could not delete ${f.file}: ${f.error}`);
      s.notify('info', `Deleted ${vm.config.name}${result.deletedFiles.length > 0 ? ` and ${result.deletedFiles.length} disk image(s)` : ''}.`);
      closeDialog();
    } catch (err) {
      setBusy(false);
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <Modal title={`Delete “${vm.config.name}”?`} onCancel={closeDialog}>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <p>The virtual machine’s configuration will be removed. Disk images are kept unless you tick them below.</p>
        {disks.length === 0 ? (
          <p className="muted">This VM has no disk images.</p>
        ) : (
          <fieldset className="disk-choices">
            <legend>Also delete these disk images (cannot be undone)</legend>
            {disks.map((d) => (
              <label key={d.id} className="check">
                <input type="checkbox" checked={chosen.has(d.path)} onChange={(e) => toggle(d.path, e.target.checked)} />
                <code>{d.path}</code>
              </label>
            ))}
          </fieldset>
        )}
        {error && <p className="form-error" role="alert">{error}</p>}
        <div className="actions">
          <button type="button" className="btn" onClick={closeDialog} data-autofocus>Cancel</button>
          <button type="submit" className="btn danger" disabled={busy}>{busy ? 'Deleting…' : 'Delete'}</button>
        </div>
      </form>
    </Modal>
  );
}
