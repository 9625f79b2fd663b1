/**
 * Clone: a new VM with the same settings under a new name; optionally its disk images are
 * copied next to the originals (otherwise the clone shares them). CD-ROM media are shared.
 */
import { useId, useState, type FormEvent } from 'react';
import { useAppStore, useAppStoreApi } from '../../store/context.js';
import { selectVmById } from '../../store/selectors.js';
import { Modal } from '../Modal.js';
import { suggestCloneName } from './editor-model.js';

/** The dialog for VM `id`; mounted while open. */
export function CloneVmDialog({ id }: { id: string }) {
  const store = useAppStoreApi();
  const vm = useAppStore(selectVmById(id));
  const closeDialog = useAppStore((s) => s.closeDialog);
  const taken = (n: string): boolean => {
    const key = n.trim().toLocaleLowerCase('en-US');
    return store.getState().vms.some((v) => v.config.name.trim().toLocaleLowerCase('en-US') === key);
  };
  const [name, setName] = useState(() => (vm ? suggestCloneName(vm.config.name, taken) : ''));
  const disks = vm?.config.drives.filter((d) => d.kind === 'disk' && d.path !== '') ?? [];
  const [copyDisks, setCopyDisks] = useState(disks.length > 0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const uid = useId();

  if (!vm) {
    return (
      <Modal title="Clone virtual machine" onCancel={closeDialog}>
        <p>This VM no longer exists.</p>
        <div className="actions"><button type="button" className="btn" onClick={closeDialog} data-autofocus>Close</button></div>
      </Modal>
    );
  }
  const active = vm.state !== 'stopped' && vm.state !== 'crashed';
  const nameError = name.trim() === '' ? 'name must not be empty'
    : name.trim().length > 100 ? 'name must be at most 100 characters'
      : taken(name) ? `name: a VM named "${name.trim()}" already exists` : null;

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (busy || nameError) return;
    setBusy(true);
    setError(null);
    try {
      const result = await store.getState().cloneVm(id, name.trim(), copyDisks && disks.length > 0);
      const s = store.getState();
      s.notify('info', `Cloned ${vm.config.name} as ${result.entry.config.name}${result.copiedFiles.length > 0 ? ` (${result.copiedFiles.length} disk image(s) copied)` : ''}.`);
      s.select(result.entry.config.id);
      closeDialog();
    } catch (err) {
      setBusy(false);
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <Modal title={`Clone “${vm.config.name}”`} onCancel={closeDialog}>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label htmlFor={`${uid}-name`}>Name of the clone</label>
          <input id={`${uid}-name`} type="text" value={name} data-autofocus onChange={(e) => setName(e.target.value)}
            aria-invalid={nameError ? true : undefined} aria-describedby={nameError ? `${uid}-name-error` : undefined} />
          {nameError && <p id={`${uid}-name-error`} className="field-error" role="alert">{nameError}</p>}
        </div>
        {disks.length === 0 ? <p className="muted">This VM has no disk images to copy.</p> : (
          <>
            <label className="check">
              <input type="checkbox" checked={copyDisks} disabled={active} onChange={(e) => setCopyDisks(e.target.checked)} />
              Copy the disk images (otherwise the clone shares them)
            </label>
            <p className="hint">
              {active ? 'Shut the VM down to copy its disks. ' : ''}
              Copies go next to the originals; an existing file is never overwritten.
            </p>
          </>
        )}
        {error && <p className="form-error" role="alert">{error}</p>}
        <div className="actions">
          <button type="button" className="btn" onClick={closeDialog}>Cancel</button>
          <button type="submit" className="btn primary" disabled={busy || nameError !== null || (active && copyDisks && disks.length > 0)}>
            {busy ? 'Cloning…' : 'Clone'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
