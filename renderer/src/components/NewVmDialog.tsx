/** The simple "New VM" dialog: name, OS preset, memory, CPUs; field-level messages. */
import { useId, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../../../protocol/index.js';
import { useAppStore, useAppStoreApi } from '../store/context.js';
import { selectHostInfo, selectNameTaken } from '../store/selectors.js';
import { OS_PRESETS, presetById } from '../os-presets.js';
import { validateNewVm, type NewVmErrors, type NewVmFields } from '../new-vm-form.js';
import { formatBytesGiB } from '../format.js';
import { Modal } from './Modal.js';

const FIELD_ORDER: (keyof NewVmFields)[] = ['name', 'osId', 'memoryMiB', 'cpus'];

/** The dialog; mounted while open. */
export function NewVmDialog() {
  const store = useAppStoreApi();
  const host = useAppStore(selectHostInfo);
  const closeDialog = useAppStore((s) => s.closeDialog);
  const first = OS_PRESETS[0] ?? presetById('generic');
  const [fields, setFields] = useState<NewVmFields>({
    name: '', osId: first.id, memoryMiB: String(first.memoryMiB), cpus: String(first.cpus),
  });
  const [touched, setTouched] = useState({ memoryMiB: false, cpus: false });
  const [errors, setErrors] = useState<NewVmErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const ids = { name: useId(), osId: useId(), memoryMiB: useId(), cpus: useId() };

  const update = (field: keyof NewVmFields, value: string): void => {
    setFields((f) => {
      const next = { ...f, [field]: value };
      if (field === 'osId') {
        const preset = presetById(value);
        if (!touched.memoryMiB) next.memoryMiB = String(preset.memoryMiB);
        if (!touched.cpus) next.cpus = String(preset.cpus);
      }
      return next;
    });
    if (field === 'memoryMiB' || field === 'cpus') setTouched((t) => ({ ...t, [field]: true }));
    if (errors[field]) setErrors((e) => ({ ...e, [field]: undefined }));
  };

  const focusFirstError = (errs: NewVmErrors): void => {
    const field = FIELD_ORDER.find((f) => errs[f]);
    if (field) requestAnimationFrame(() => document.getElementById(ids[field])?.focus());
  };

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (busy) return;
    setFormError(null);
    const result = validateNewVm(fields, (name) => selectNameTaken(name)(store.getState()));
    if (!result.ok) {
      setErrors(result.errors);
      focusFirstError(result.errors);
      return;
    }
    setBusy(true);
    try {
      const entry = await store.getState().createVm(result.draft);
      store.getState().select(entry.config.id);
      closeDialog();
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && (err.code === 'conflict' || err.code === 'bad-request')) {
        // Host messages name the field first ("name: ..."): show them next to it.
        const match = /^(name|cpus|memoryMiB|os)(?:\.[\w.]+)?: (.*)$/.exec(err.message);
        const field = match ? ({ name: 'name', cpus: 'cpus', memoryMiB: 'memoryMiB', os: 'osId' } as const)[match[1] as 'name'] : null;
        if (field && match) {
          const errs = { [field]: match[2] ?? err.message };
          setErrors(errs);
          focusFirstError(errs);
          return;
        }
      }
      setFormError(err instanceof Error ? err.message : String(err));
    }
  };

  const describedBy = (field: keyof NewVmFields, hint?: string): string | undefined =>
    [errors[field] ? `${ids[field]}-error` : null, hint ?? null].filter(Boolean).join(' ') || undefined;

  const fieldError = (field: keyof NewVmFields) =>
    errors[field] ? <p id={`${ids[field]}-error`} className="field-error" role="alert">{errors[field]}</p> : null;

  return (
    <Modal title="New virtual machine" onCancel={closeDialog}>
      <form ref={formRef} className="form" onSubmit={(e) => void submit(e)} noValidate>
        <div className="field">
          <label htmlFor={ids.name}>Name</label>
          <input
            id={ids.name} name="name" type="text" autoComplete="off" maxLength={100} data-autofocus
            value={fields.name} onChange={(e) => update('name', e.target.value)}
            aria-invalid={errors.name ? true : undefined} aria-describedby={describedBy('name')}
          />
          {fieldError('name')}
        </div>
        <div className="field">
          <label htmlFor={ids.osId}>Operating system</label>
          <select id={ids.osId} name="os" value={fields.osId} onChange={(e) => update('osId', e.target.value)}
            aria-invalid={errors.osId ? true : undefined} aria-describedby={describedBy('osId')}>
            {OS_PRESETS.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select>
          {fieldError('osId')}
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor={ids.memoryMiB}>Memory (MiB)</label>
            <input
              id={ids.memoryMiB} name="memoryMiB" type="number" inputMode="numeric" min={16} step={64}
              value={fields.memoryMiB} onChange={(e) => update('memoryMiB', e.target.value)}
              aria-invalid={errors.memoryMiB ? true : undefined}
              aria-describedby={describedBy('memoryMiB', host ? `${ids.memoryMiB}-hint` : undefined)}
            />
            {host && <p id={`${ids.memoryMiB}-hint`} className="hint">Host has {formatBytesGiB(host.memoryBytes)}.</p>}
            {fieldError('memoryMiB')}
          </div>
          <div className="field">
            <label htmlFor={ids.cpus}>CPUs</label>
            <input
              id={ids.cpus} name="cpus" type="number" inputMode="numeric" min={1} max={64}
              value={fields.cpus} onChange={(e) => update('cpus', e.target.value)}
              aria-invalid={errors.cpus ? true : undefined}
              aria-describedby={describedBy('cpus', host ? `${ids.cpus}-hint` : undefined)}
            />
            {host && <p id={`${ids.cpus}-hint`} className="hint">Host has {host.cpus}.</p>}
            {fieldError('cpus')}
          </div>
        </div>
        {formError && <p className="form-error" role="alert">{formError}</p>}
        <div className="actions">
          <button type="button" className="btn" onClick={closeDialog}>Cancel</button>
          <button type="submit" className="btn primary" disabled={busy}>{busy ? 'Creating…' : 'Create'}</button>
        </div>
      </form>
    </Modal>
  );
}
