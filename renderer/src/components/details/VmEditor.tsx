/**
 * The VM details editor: one tab per part of the configuration (Overview, CPUs, Memory,
 * Boot order, Disks and CD-ROMs, Network, Display, Input, Serial port), one draft across the tabs, Save
 * (vm.update) and Revert. Every field shows the schema's message for it. While the VM has
 * a worker only CD-ROM media can change (applied to the running machine); every other
 * setting is read-only until it is shut down, and then applies on next boot.
 */
import { useId, useState, type ReactNode } from 'react';
import type { DriveConfig, VmEntry } from '../../../../protocol/index.js';
import { useAppStore, useAppStoreApi } from '../../store/context.js';
import { selectHostInfo } from '../../store/selectors.js';
import { formatDateTime, formatMiB } from '../../format.js';
import { FileBrowserDialog } from '../wizard/FileBrowserDialog.js';
import './details.css';
import {
  TAB_LABELS, formFromConfig, moveBoot, newCdromDrive, newDiskDrive, newDiskPath, nextDriveId, onlyMediaChanged,
  sameConfig, tabOfField, validateForm, type EditorForm, type EditorTab, type FieldErrors,
} from './editor-model.js';

const BOOT_LABELS = { cdrom: 'CD-ROM', disk: 'Disk', network: 'Network (PXE)' } as const;

type Picker = { title: string; extensions: string[]; apply(path: string): void };

/** The editor for `vm`, showing tab `tab` (mounted once per VM: key it by id). */
export function VmEditor({ vm, tab }: { vm: VmEntry; tab: EditorTab }) {
  const store = useAppStoreApi();
  const hostInfo = useAppStore(selectHostInfo);
  const vms = useAppStore((s) => s.vms);
  const [draft, setDraft] = useState<EditorForm | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [picker, setPicker] = useState<Picker | null>(null);
  const [newDisk, setNewDisk] = useState({ mode: 'new' as 'new' | 'existing', sizeGiB: '8', path: '', bus: 'ide' as DriveConfig['bus'] });
  const [addError, setAddError] = useState<string | null>(null);
  const uid = useId();
  const idOf = (field: string): string => `${uid}-${field.replace(/\./g, '-')}`;

  const { config, state } = vm;
  const form = draft ?? formFromConfig(config);
  const locked = state !== 'stopped' && state !== 'crashed';
  const nameTaken = (n: string): boolean =>
    vms.some((v) => v.config.id !== config.id && v.config.name.trim().toLocaleLowerCase('en-US') === n.toLocaleLowerCase('en-US'));
  const result = validateForm(config, form, nameTaken);
  const dirty = draft !== null && !(result.ok && sameConfig(result.config, config));

  const update = (patch: Partial<EditorForm>): void => {
    const next = { ...form, ...patch };
    setDraft(next);
    setSaveError(null);
    const r = validateForm(config, next, nameTaken);
    setErrors(r.ok ? {} : r.errors);
  };
  const setDrive = (index: number, patch: Partial<DriveConfig>): void =>
    update({ drives: form.drives.map((d, i) => (i === index ? { ...d, ...patch } : d)) });

  const save = async (): Promise<void> => {
    if (busy) return;
    const r = validateForm(config, form, nameTaken);
    if (!r.ok) {
      setErrors(r.errors);
      setSaveError('Fix the fields marked in red first.');
      return;
    }
    if (locked && !onlyMediaChanged(config, r.config)) {
      setSaveError('The VM is running: only CD-ROM media can change now. Shut it down to change the rest.');
      return;
    }
    setBusy(true);
    try {
      await store.getState().updateVm(config.id, r.config);
      setDraft(null);
      setErrors({});
      setSaveError(null);
      store.getState().notify('info', `Saved ${r.config.name}.`);
    } catch (err) {
      setSaveError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const revert = (): void => {
    setDraft(null);
    setErrors({});
    setSaveError(null);
  };

  const browse = async (p: Picker): Promise<void> => {
    if (hostInfo?.shell === 'electron') {
      try {
        const chosen = await store.getState().openFileDialog({ title: p.title, extensions: p.extensions });
        if (chosen) p.apply(chosen);
        return;
      } catch {
        // fall back to the host's file browser
      }
    }
    setPicker(p);
  };

  // ====== field helpers ======
  const errorOf = (field: string): ReactNode =>
    errors[field] ? <p id={`${idOf(field)}-error`} className="field-error" role="alert">{errors[field]}</p> : null;
  const aria = (field: string, hint = false) => ({
    id: idOf(field),
    'aria-invalid': errors[field] ? true : undefined,
    'aria-describedby': [errors[field] ? `${idOf(field)}-error` : null, hint ? `${idOf(field)}-hint` : null].filter(Boolean).join(' ') || undefined,
  });
  const textField = (field: string, label: string, value: string, onChange: (v: string) => void, opts: { hint?: string; type?: string; disabled?: boolean } = {}): ReactNode => (
    <div className="field">
      <label htmlFor={idOf(field)}>{label}</label>
      <input type={opts.type ?? 'text'} autoComplete="off" spellCheck={false} value={value} disabled={opts.disabled ?? locked}
        onChange={(e) => onChange(e.target.value)} {...aria(field, opts.hint !== undefined)} />
      {opts.hint && <p id={`${idOf(field)}-hint`} className="hint">{opts.hint}</p>}
      {errorOf(field)}
    </div>
  );

  const lockedNote = locked ? (
    <p className="hint locked-note" role="note">
      The VM is {state}: only CD-ROM media can change now. The other settings are read-only until it is shut down; changes made then apply on next boot.
    </p>
  ) : null;

  // ====== tabs ======
  const overview = (
    <section aria-label="Overview">
      {textField('name', 'Name', form.name, (v) => update({ name: v }))}
      {textField('os.name', 'Operating system', form.osName, (v) => update({ osName: v }), { hint: `OS id: ${config.os.id}` })}
      <div className="field">
        <label htmlFor={idOf('backend')}>CPU backend (requested)</label>
        <select value={form.backend} disabled={locked} onChange={(e) => update({ backend: e.target.value as EditorForm['backend'] })} {...aria('backend', true)}>
          <option value="auto">auto (KVM when /dev/kvm is usable and the VM has one CPU, else the interpreter)</option>
          <option value="interp">interp (Vireo's x86 interpreter)</option>
          <option value="kvm">kvm (Linux /dev/kvm, one vCPU)</option>
        </select>
        <p id={`${idOf('backend')}-hint`} className="hint">
          {vm.backendInUse
            ? `In use now: ${vm.backendInUse === 'kvm' ? 'KVM' : 'interpreter'}${vm.backendReason ? ` (${vm.backendReason})` : ''}.`
            : 'The backend in use is shown while the VM runs.'}
        </p>
        {errorOf('backend')}
      </div>
      <dl className="props">
        <dt>Operating system</dt><dd>{config.os.name}</dd>
        <dt>Memory</dt><dd>{formatMiB(config.memoryMiB)}</dd>
        <dt>CPUs</dt><dd>{config.cpus}</dd>
        <dt>Firmware</dt><dd>{config.firmware === 'uefi' ? 'UEFI' : 'BIOS'}</dd>
        <dt>Boot order</dt><dd>{config.bootOrder.map((d) => BOOT_LABELS[d]).join(', ')}</dd>
        <dt>Network</dt><dd>{config.network.mode === 'none' ? 'None' : `User-mode NAT (${config.network.model})`}</dd>
        <dt>CPU backend</dt><dd>{config.backend}{vm.backendInUse ? ` (in use: ${vm.backendInUse}${vm.backendReason ? `: ${vm.backendReason}` : ''})` : ''}</dd>
        <dt>Created</dt><dd>{formatDateTime(config.createdAt)}</dd>
        <dt>ID</dt><dd><code>{config.id}</code></dd>
      </dl>
      <h3>Drives</h3>
      {config.drives.length === 0 ? <p className="muted">No drives attached.</p> : (
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
  );

  const hostCpus = hostInfo?.cpus;
  const cpus = (
    <section aria-label="CPUs">
      {textField('cpus', 'Virtual CPUs', form.cpus, (v) => update({ cpus: v }), {
        type: 'number', hint: `1 to 64${hostCpus ? `; the host has ${hostCpus}` : ''}. The interpreter runs one CPU today.`,
      })}
    </section>
  );

  const memory = (
    <section aria-label="Memory">
      {textField('memoryMiB', 'Memory (MiB)', form.memoryMiB, (v) => update({ memoryMiB: v }), {
        type: 'number', hint: `At least 16 MiB${hostInfo ? `; the host has ${formatMiB(Math.floor(hostInfo.memoryBytes / 1024 / 1024))}` : ''}.`,
      })}
    </section>
  );

  const boot = (
    <section aria-label="Boot order">
      <p className="hint">The firmware tries the ticked devices from top to bottom.</p>
      <ol className="boot-list">
        {form.boot.map((b, i) => (
          <li key={b.device} className="check">
            <label className="check">
              <input type="checkbox" checked={b.enabled} disabled={locked}
                onChange={(e) => update({ boot: form.boot.map((x, j) => (j === i ? { ...x, enabled: e.target.checked } : x)) })} />
              {BOOT_LABELS[b.device]}
            </label>
            <button type="button" className="btn small" disabled={locked || i === 0} aria-label={`Move ${BOOT_LABELS[b.device]} up`}
              onClick={() => update({ boot: moveBoot(form.boot, i, -1) })}>↑</button>
            <button type="button" className="btn small" disabled={locked || i === form.boot.length - 1} aria-label={`Move ${BOOT_LABELS[b.device]} down`}
              onClick={() => update({ boot: moveBoot(form.boot, i, 1) })}>↓</button>
          </li>
        ))}
      </ol>
      {errorOf('bootOrder')}
    </section>
  );

  const addDisk = async (): Promise<void> => {
    setAddError(null);
    const drives = form.drives;
    if (newDisk.mode === 'existing') {
      const p = newDisk.path.trim();
      if (p === '') { setAddError('Enter the path of the disk image.'); return; }
      update({ drives: [...drives, newDiskDrive(drives, p, newDisk.bus)] });
      setNewDisk({ ...newDisk, path: '' });
      return;
    }
    const size = Number(newDisk.sizeGiB);
    if (!Number.isInteger(size) || size < 1) { setAddError('Size must be a whole number of GiB, at least 1.'); return; }
    try {
      const { imageDir } = await store.getState().loadHostResources();
      const target = newDiskPath(imageDir, form.name || config.name, nextDriveId(drives, 'disk'));
      const created = await store.getState().createDisk({ path: target, sizeBytes: size * 1024 ** 3, format: 'qcow2' });
      update({ drives: [...drives, newDiskDrive(drives, created.path, newDisk.bus)] });
    } catch (err) {
      setAddError(err instanceof Error ? err.message : String(err));
    }
  };

  const disks = (
    <section aria-label="Disks and CD-ROMs">
      {form.drives.length === 0 && <p className="muted">No drives attached.</p>}
      {form.drives.map((d, i) => {
        const label = d.kind === 'cdrom' ? `CD-ROM ${d.id}` : `Disk ${d.id}`;
        const mediaOnly = d.kind === 'cdrom';
        return (
          <fieldset key={d.id} className="drive-edit" aria-label={label}>
            <legend>{label}</legend>
            <div className="field">
              <label htmlFor={idOf(`drives.${i}.path`)}>{d.kind === 'cdrom' ? 'ISO image' : 'Disk image'}</label>
              <div className="path-row">
                <input type="text" autoComplete="off" spellCheck={false} value={d.path} disabled={!mediaOnly && locked}
                  placeholder={d.kind === 'cdrom' ? '(empty drive)' : ''}
                  onChange={(e) => setDrive(i, d.kind === 'cdrom' ? { path: e.target.value } : { path: e.target.value, format: e.target.value.toLowerCase().endsWith('.qcow2') ? 'qcow2' : 'raw' })}
                  {...aria(`drives.${i}.path`)} />
                <button type="button" className="btn" disabled={!mediaOnly && locked}
                  onClick={() => void browse({
                    title: d.kind === 'cdrom' ? 'Choose an ISO image' : 'Choose a disk image',
                    extensions: d.kind === 'cdrom' ? ['iso'] : ['qcow2', 'img', 'raw'],
                    apply: (p) => setDrive(i, d.kind === 'cdrom' ? { path: p } : { path: p, format: p.toLowerCase().endsWith('.qcow2') ? 'qcow2' : 'raw' }),
                  })}>Browse…</button>
                {d.kind === 'cdrom' && <button type="button" className="btn" disabled={d.path === ''} onClick={() => setDrive(i, { path: '' })}>Eject</button>}
              </div>
              {errorOf(`drives.${i}.path`)}
            </div>
            {d.kind === 'disk' && (
              <div className="field-row">
                <div className="field">
                  <label htmlFor={idOf(`drives.${i}.bus`)}>Bus</label>
                  <select value={d.bus} disabled={locked} onChange={(e) => setDrive(i, { bus: e.target.value as DriveConfig['bus'] })} {...aria(`drives.${i}.bus`)}>
                    <option value="ide">IDE</option>
                    <option value="virtio">virtio (virtio-blk)</option>
                    <option value="scsi">SCSI (virtio-scsi)</option>
                  </select>
                  {errorOf(`drives.${i}.bus`)}
                </div>
                <div className="field"><span className="hint">Format: {d.format}</span></div>
              </div>
            )}
            <button type="button" className="btn danger small" disabled={locked} onClick={() => update({ drives: form.drives.filter((_, j) => j !== i) })}>
              Remove {label}
            </button>
          </fieldset>
        );
      })}
      {!locked && (
        <fieldset className="drive-add" aria-label="Add hardware">
          <legend>Add</legend>
          <button type="button" className="btn" onClick={() => update({ drives: [...form.drives, newCdromDrive(form.drives)] })}>Add CD-ROM drive</button>
          <div className="choices" role="radiogroup" aria-label="New disk">
            <label className="choice"><input type="radio" name={`${uid}-disk-mode`} checked={newDisk.mode === 'new'} onChange={() => setNewDisk({ ...newDisk, mode: 'new' })} /> New disk image (qcow2)</label>
            <label className="choice"><input type="radio" name={`${uid}-disk-mode`} checked={newDisk.mode === 'existing'} onChange={() => setNewDisk({ ...newDisk, mode: 'existing' })} /> Existing disk image</label>
            {newDisk.mode === 'new' ? (
              <div className="field">
                <label htmlFor={`${uid}-new-size`}>Size (GiB)</label>
                <input id={`${uid}-new-size`} type="number" value={newDisk.sizeGiB} onChange={(e) => setNewDisk({ ...newDisk, sizeGiB: e.target.value })} />
              </div>
            ) : (
              <div className="field">
                <label htmlFor={`${uid}-existing-path`}>Image path</label>
                <div className="path-row">
                  <input id={`${uid}-existing-path`} type="text" value={newDisk.path} onChange={(e) => setNewDisk({ ...newDisk, path: e.target.value })} />
                  <button type="button" className="btn" onClick={() => void browse({ title: 'Choose a disk image', extensions: ['qcow2', 'img', 'raw'], apply: (p) => setNewDisk((n) => ({ ...n, path: p })) })}>Browse…</button>
                </div>
              </div>
            )}
            <div className="field">
              <label htmlFor={`${uid}-new-bus`}>Bus</label>
              <select id={`${uid}-new-bus`} value={newDisk.bus} onChange={(e) => setNewDisk({ ...newDisk, bus: e.target.value as DriveConfig['bus'] })}>
                <option value="ide">IDE</option><option value="virtio">virtio (virtio-blk)</option><option value="scsi">SCSI (virtio-scsi)</option>
              </select>
            </div>
            <button type="button" className="btn" onClick={() => void addDisk()}>Add disk</button>
            {addError && <p className="field-error" role="alert">{addError}</p>}
          </div>
        </fieldset>
      )}
    </section>
  );

  const network = (
    <section aria-label="Network">
      <div className="field">
        <label htmlFor={idOf('network.mode')}>Network</label>
        <select value={form.networkMode} disabled={locked} onChange={(e) => update({ networkMode: e.target.value as EditorForm['networkMode'] })} {...aria('network.mode')}>
          <option value="user">User-mode NAT (passt)</option>
          <option value="none">None</option>
        </select>
        {errorOf('network.mode')}
      </div>
      <div className="field">
        <label htmlFor={idOf('network.model')}>Card model</label>
        <select value={form.networkModel} disabled={locked || form.networkMode === 'none'} onChange={(e) => update({ networkModel: e.target.value as EditorForm['networkModel'] })} {...aria('network.model', true)}>
          <option value="virtio">virtio</option>
          <option value="e1000">e1000</option>
          {form.networkModel === 'rtl8139' && <option value="rtl8139">rtl8139</option>}
        </select>
        <p id={`${idOf('network.model')}-hint`} className="hint">Only virtio is emulated today: with another model the VM runs without a network card.</p>
        {errorOf('network.model')}
      </div>
    </section>
  );

  const display = (
    <section aria-label="Display">
      <label className="check">
        <input type="checkbox" checked={form.vncEnabled} disabled={locked} onChange={(e) => update({ vncEnabled: e.target.checked })} />
        VNC listener on 127.0.0.1 (for external VNC clients)
      </label>
      {textField('display.vnc.port', 'VNC port', form.vncPort, (v) => update({ vncPort: v }), { type: 'number', disabled: locked || !form.vncEnabled, hint: '1024 to 65535; 5900 + display number by convention.' })}
      {textField('display.vnc.password', 'VNC password', form.vncPassword, (v) => update({ vncPassword: v }), { type: 'password', disabled: locked || !form.vncEnabled, hint: 'Required when the listener is on; VNC uses only the first 8 characters.' })}
    </section>
  );

  const serial = (
    <section aria-label="Serial port">
      <label className="check">
        <input type="checkbox" checked={form.serialPty} disabled={locked} onChange={(e) => update({ serialPty: e.target.checked })} />
        Serial port (COM1) as a host pseudo-terminal
      </label>
      <p className="hint">
        While the VM runs, a terminal program on the host can use its serial port, e.g. <code>picocom&nbsp;/dev/pts/5</code> (Linux
        and macOS hosts). The path is shown under the VM's name. The serial console in the app keeps working: both see the
        guest's output, and both can type. Applies at the next start.
      </p>
    </section>
  );

  const input = (
    <section aria-label="Input">
      <p className="hint">Every VM has a PS/2 keyboard and mouse.</p>
      <label className="check">
        <input type="checkbox" checked={form.tablet} disabled={locked} onChange={(e) => update({ tablet: e.target.checked })} />
        Tablet (virtio): the pointer follows the console exactly
      </label>
      <p className="hint">
        Once the guest's driver runs (Linux has it built in; Windows needs vioinput from the virtio-win ISO), the console
        sends absolute pointer positions instead of PS/2 mouse motion, so the guest's cursor never drifts from yours.
        Applies at the next start.
      </p>
    </section>
  );

  const body: Record<EditorTab, ReactNode> = { overview, cpus, memory, boot, disks, network, display, input, serial };
  const elsewhere = Object.entries(errors).filter(([k]) => tabOfField(k) !== tab);
  return (
    <>
    <form className="form details-editor" aria-label={`${TAB_LABELS[tab]} settings`} onSubmit={(e) => { e.preventDefault(); void save(); }}>
      {lockedNote}
      {body[tab]}
      {(dirty || saveError) && (
        <div className="editor-bar">
          {saveError && <p className="form-error" role="alert">{saveError}</p>}
          {elsewhere.length > 0 && (
            <p className="form-error">Fix on other tabs: {elsewhere.map(([k, m]) => `${TAB_LABELS[tabOfField(k)]}: ${m}`).join('; ')}</p>
          )}
          <div className="actions">
            <button type="button" className="btn" onClick={revert} disabled={busy}>Revert</button>
            <button type="submit" className="btn primary" disabled={busy || Object.keys(errors).length > 0}>{busy ? 'Saving…' : 'Save'}</button>
          </div>
        </div>
      )}
    </form>
      {picker && (
        <FileBrowserDialog title={picker.title} extensions={picker.extensions}
          onChoose={(p) => { picker.apply(p); setPicker(null); }} onCancel={() => setPicker(null)} />
      )}
    </>
  );
}
