/**
 * The New-VM wizard (virt-manager's five steps): install method, install media with OS
 * detection, memory and CPUs, storage, and finish (name, firmware, network, virtio
 * drivers for Windows). Each step is validated before Next with messages next to the
 * fields; Enter goes on, Escape cancels, Back keeps what was entered. Create makes the
 * disk image on the host (`disk.create`), then the VM (`vm.create`).
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, VIRTIO_WIN_DEFAULT_URL, type IsoInspection, type OsPreset } from '../../../../protocol/index.js';
import { useAppStore, useAppStoreApi } from '../../store/context.js';
import { selectHostInfo, selectNameTaken } from '../../store/selectors.js';
import type { DownloadState } from '../../store/wizard-slice.js';
import { Modal } from '../Modal.js';
import { FileBrowserDialog } from './FileBrowserDialog.js';
import {
  STEPS, STEP_TITLES, buildPlan, deviceModels, diskPathFor, formatBytes, formatEta, formatMiB, initialFields, recommend,
  validateStep, type HostFacts, type StepId, type WizardErrors, type WizardField, type WizardFields,
} from './wizard-model.js';
import './wizard.css';

type PathFieldName = 'isoPath' | 'importPath' | 'existingDiskPath' | 'virtioPath';

const PICKERS: Record<PathFieldName, { title: string; extensions: string[] }> = {
  isoPath: { title: 'Choose the install ISO', extensions: ['iso'] },
  importPath: { title: 'Choose the disk image to import', extensions: ['qcow2', 'img', 'raw'] },
  existingDiskPath: { title: 'Choose the disk image', extensions: ['qcow2', 'img', 'raw'] },
  virtioPath: { title: 'Choose the virtio-win ISO', extensions: ['iso'] },
};

/** The wizard; mounted while the "new-vm" dialog is open. */
export function NewVmWizard() {
  const store = useAppStoreApi();
  const closeDialog = useAppStore((s) => s.closeDialog);
  const hostInfo = useAppStore(selectHostInfo);
  const [stepIndex, setStepIndex] = useState(0);
  const step: StepId = STEPS[stepIndex] ?? 'method';
  const [fields, setFields] = useState<WizardFields>(initialFields);
  const [errors, setErrors] = useState<WizardErrors>({});
  const [presets, setPresets] = useState<OsPreset[]>([]);
  const [osinfo, setOsinfo] = useState(false);
  const [host, setHost] = useState<HostFacts | null>(null);
  const [inspection, setInspection] = useState<IsoInspection | null>(null);
  const [inspectError, setInspectError] = useState<string | null>(null);
  const [inspecting, setInspecting] = useState(false);
  const [downloadUrl, setDownloadUrl] = useState(VIRTIO_WIN_DEFAULT_URL);
  const [downloadId, setDownloadId] = useState<string | null>(null);
  const download = useAppStore((s) => (downloadId ? s.downloads[downloadId] ?? null : null));
  const [picker, setPicker] = useState<PathFieldName | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** virt-manager's "Customize configuration before install": off = start the VM once created. */
  const [customize, setCustomize] = useState(false);
  const bodyRef = useRef<HTMLDivElement>(null);
  const baseId = useId();
  const idOf = (field: WizardField): string => `${baseId}-${field}`;

  // ====== loading what the host knows ======
  useEffect(() => {
    const s = store.getState();
    s.loadOsPresets().then((r) => { setPresets(r.presets); setOsinfo(r.osinfo); }, (err: unknown) => setFormError(messageOf(err)));
    s.loadHostResources().then(setHost, (err: unknown) => setFormError(messageOf(err)));
  }, [store]);

  // A running download is cancelled when the wizard goes away.
  const downloadRef = useRef<{ id: string | null; running: boolean }>({ id: null, running: false });
  useEffect(() => { downloadRef.current = { id: downloadId, running: download?.status === 'running' }; });
  useEffect(() => () => {
    const { id, running } = downloadRef.current;
    if (id && running) void store.getState().cancelDownload(id).catch(() => undefined);
  }, [store]);

  // Every OS on offer: the presets, plus an osinfo-only detection.
  const osOptions = useMemo(() => {
    const detected = inspection?.os?.preset;
    return detected && !presets.some((p) => p.id === detected.id) ? [detected, ...presets] : presets;
  }, [presets, inspection]);
  const preset = osOptions.find((p) => p.id === fields.osId) ?? null;
  const osName = inspection?.os && inspection.os.id === fields.osId ? inspection.os.name : preset?.name ?? '';
  const rec = preset ? recommend(preset, host) : null;

  /** Chooses OS `id`; resources and disk size follow it until the user edits them. */
  const chooseOs = useCallback((id: string, overridden: boolean, options: OsPreset[] = osOptions) => {
    const p = options.find((o) => o.id === id);
    setFields((f) => {
      const next: WizardFields = { ...f, osId: id, osOverridden: f.osOverridden || overridden };
      if (p) {
        const r = recommend(p, host);
        if (!f.resourcesTouched) {
          next.cpus = String(r.cpus);
          next.memoryMiB = String(r.memoryMiB);
        }
        if (!f.diskSizeTouched) next.diskSizeGiB = String(r.diskGiB);
      }
      return next;
    });
  }, [osOptions, host]);

  // Defaults once presets and host facts are in: "generic" until media says otherwise.
  useEffect(() => {
    if (presets.length > 0 && host && fields.osId === '') chooseOs(presets.some((p) => p.id === 'generic') ? 'generic' : presets[0]?.id ?? '', false, presets);
  }, [presets, host, fields.osId, chooseOs]);

  const update = <K extends keyof WizardFields>(field: K, value: WizardFields[K]): void => {
    setFields((f) => ({
      ...f, [field]: value,
      ...(field === 'memoryMiB' || field === 'cpus' ? { resourcesTouched: true } : {}),
      ...(field === 'diskSizeGiB' ? { diskSizeTouched: true } : {}),
    }));
    if (errors[field]) setErrors((e) => ({ ...e, [field]: undefined }));
  };

  // ====== install media ======
  /** Inspects the ISO at `path`: resolves to the inspection, or to the message of why it failed. */
  const inspect = useCallback(async (path: string): Promise<IsoInspection | string> => {
    const trimmed = path.trim();
    if (trimmed === '') return 'Choose the install ISO.';
    setInspecting(true);
    setInspectError(null);
    try {
      const r = await store.getState().inspectIso(trimmed);
      setInspection(r);
      const all = r.os && !presets.some((p) => p.id === r.os?.id) ? [r.os.preset, ...presets] : presets;
      if (r.os && !fields.osOverridden) chooseOs(r.os.id, false, all);
      return r;
    } catch (err) {
      const message = messageOf(err).replace(/^path: /, '');
      setInspection(null);
      setInspectError(message);
      setErrors((e) => ({ ...e, isoPath: message }));
      return message;
    } finally {
      setInspecting(false);
    }
  }, [store, presets, fields.osOverridden, chooseOs]);

  const setPath = (field: PathFieldName, value: string): void => {
    update(field, value);
    if (field === 'isoPath') {
      setInspectError(null);
      void inspect(value);
    }
  };

  const browse = async (field: PathFieldName): Promise<void> => {
    if (hostInfo?.shell === 'electron') {
      try {
        const chosen = await store.getState().openFileDialog({ title: PICKERS[field].title, extensions: PICKERS[field].extensions });
        if (chosen) setPath(field, chosen);
        return;
      } catch {
        // fall back to the host's file browser
      }
    }
    setPicker(field);
  };

  // ====== moving between steps ======
  const nameTaken = (name: string): boolean => selectNameTaken(name)(store.getState());
  const validate = (s: StepId, extra: { inspectError?: string | null } = {}): WizardErrors => validateStep(s, fields, {
    host, preset, inspection, inspectError: extra.inspectError !== undefined ? extra.inspectError : inspectError, nameTaken,
    download: download ? { status: download.status, error: download.error } : null,
  });

  const showErrors = (errs: WizardErrors): boolean => {
    setErrors(errs);
    const first = (Object.keys(errs) as WizardField[]).find((k) => errs[k]);
    if (first) requestAnimationFrame(() => document.getElementById(idOf(first))?.focus());
    return first !== undefined;
  };

  useEffect(() => {
    // Focus the step's first control when the step changes.
    const el = bodyRef.current?.querySelector<HTMLElement>('input:not([disabled]), select, button.btn:not([disabled])');
    el?.focus();
  }, [stepIndex]);

  const next = async (): Promise<void> => {
    setFormError(null);
    let extra: { inspectError?: string | null } = {};
    if (step === 'media' && fields.method === 'iso' && fields.isoPath.trim() !== '' && inspection?.path !== fields.isoPath.trim()) {
      const r = await inspect(fields.isoPath);
      extra = { inspectError: typeof r === 'string' ? r : null };
    }
    if (showErrors(validate(step, extra))) return;
    if (step === 'finish') {
      await create();
      return;
    }
    // Importing a disk has no storage step.
    const skip = STEPS[stepIndex + 1] === 'storage' && fields.method === 'import' ? 2 : 1;
    setStepIndex((i) => Math.min(STEPS.length - 1, i + skip));
  };

  const back = (): void => {
    setErrors({});
    setFormError(null);
    const skip = STEPS[stepIndex - 1] === 'storage' && fields.method === 'import' ? 2 : 1;
    setStepIndex((i) => Math.max(0, i - skip));
  };

  const create = async (): Promise<void> => {
    if (busy || !preset) return;
    setBusy(true);
    const plan = buildPlan(fields, preset, osName || preset.name, host, virtioIso);
    let createdDisk: string | null = null;
    try {
      if (plan.disk) {
        try {
          await store.getState().createDisk(plan.disk);
          createdDisk = plan.disk.path;
        } catch (err) {
          setBusy(false);
          setStepIndex(STEPS.indexOf('storage'));
          showErrors({ diskPath: messageOf(err).replace(/^path: /, '') });
          return;
        }
      }
      const entry = await store.getState().createVm(plan.draft);
      store.getState().select(entry.config.id);
      closeDialog();
      // Without "customize", the install starts at once, as in virt-manager; a start the host
      // refuses shows as the VM's state reason in its details, like any other start.
      if (!customize) void store.getState().runVmAction(entry.config.id, 'start').catch(() => {});
    } catch (err) {
      setBusy(false);
      const msg = messageOf(err);
      if (err instanceof ApiError && /^name: /.test(msg)) {
        showErrors({ name: msg.replace(/^name: /, '') });
      } else {
        setFormError(createdDisk ? `${msg} (the disk image ${createdDisk} was created; choose it as an existing image or delete it)` : msg);
      }
    }
  };

  /** The OS presets and host facts have arrived (Next waits for them). */
  const ready = presets.length > 0 && host !== null && fields.osId !== '';

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (busy || inspecting || !ready) return;
    void next();
  };

  // ====== rendering helpers ======
  const fieldError = (field: WizardField): ReactNode =>
    errors[field] ? <p id={`${idOf(field)}-error`} className="field-error" role="alert">{errors[field]}</p> : null;
  const invalid = (field: WizardField) => ({
    'aria-invalid': errors[field] ? true : undefined,
    'aria-describedby': [errors[field] ? `${idOf(field)}-error` : null, `${idOf(field)}-hint`].filter(Boolean).join(' '),
  });

  const pathField = (field: PathFieldName, label: string, hint: string): ReactNode => (
    <div className="field">
      <label htmlFor={idOf(field)}>{label}</label>
      <div className="path-row">
        <input id={idOf(field)} type="text" autoComplete="off" spellCheck={false} value={fields[field]}
          onChange={(e) => { update(field, e.target.value); if (field === 'isoPath') setInspectError(null); }}
          onBlur={() => { if (field === 'isoPath' && fields.isoPath.trim() !== '' && inspection?.path !== fields.isoPath.trim()) void inspect(fields.isoPath); }}
          {...invalid(field)} />
        <button type="button" className="btn" onClick={() => void browse(field)}>Browse…</button>
      </div>
      <p id={`${idOf(field)}-hint`} className="hint">{hint}</p>
      {fieldError(field)}
    </div>
  );

  /** A radio button whose accessible name is `label`; `hint` is its description. */
  const radio = <K extends 'method' | 'storage' | 'network' | 'virtio'>(field: K, value: WizardFields[K], label: string, hint?: string): ReactNode => {
    const id = `${baseId}-${field}-${String(value)}`;
    return (
      <div className="choice">
        <input id={id} type="radio" name={`${baseId}-${field}`} value={String(value)} checked={fields[field] === value}
          onChange={() => update(field, value)} aria-describedby={hint ? `${id}-hint` : undefined} />
        <span><label htmlFor={id} className="choice-label">{label}</label>{hint && <span id={`${id}-hint`} className="hint"> {hint}</span>}</span>
      </div>
    );
  };

  /** The virtio-win ISO the VM gets, if any: a chosen file, or the finished download. */
  const virtioIso = preset?.virtioDrivers !== 'needed' ? null
    : fields.virtio === 'file' && fields.virtioPath.trim() !== '' ? fields.virtioPath.trim()
      : fields.virtio === 'download' && download?.status === 'done' ? download.path : null;
  const models = deviceModels(preset, virtioIso !== null);

  const stepBody = (): ReactNode => {
    switch (step) {
      case 'method':
        return (
          <fieldset className="choices">
            <legend>How will you install the operating system?</legend>
            {radio('method', 'iso', 'Local install media (ISO image)', 'Boot an installer ISO, e.g. Windows or a Linux distribution.')}
            {radio('method', 'import', 'Import existing disk image', 'Use a disk image with an installed OS (qcow2 or raw).')}
            {radio('method', 'manual', 'Manual install', 'Create the VM without media; attach an ISO later.')}
          </fieldset>
        );
      case 'media':
        return (
          <>
            {fields.method === 'iso' && pathField('isoPath', 'Install ISO', hostInfo?.shell === 'electron' ? 'Browse, or type the full path.' : 'Browse the host\'s files, or type the full path on the host.')}
            {fields.method === 'iso' && (
              <div className="detect" role="status" aria-live="polite">
                {inspecting ? 'Reading the ISO…'
                  : inspection?.os ? (
                    <>
                      <span>Detected: <strong>{inspection.os.name}</strong></span>
                      <span className="hint"> (label “{inspection.label}”, {inspection.os.source === 'osinfo' ? 'osinfo-db' : 'Vireo presets'}, {inspection.os.confidence} confidence)</span>
                    </>
                  ) : inspection ? <span>Label “{inspection.label ?? '(none)'}”: OS not recognised; choose it below.</span>
                    : <span className="muted">The OS is detected from the ISO{osinfo ? ' with osinfo-db' : ''}.</span>}
                {inspection && inspection.warnings.length > 0 && (
                  <ul className="warnings">{inspection.warnings.map((w) => <li key={w}>{w}</li>)}</ul>
                )}
              </div>
            )}
            {fields.method === 'import' && pathField('importPath', 'Disk image', 'The image becomes the VM\'s disk; it is used in place, not copied.')}
            <div className="field">
              <label htmlFor={idOf('osId')}>Operating system</label>
              <select id={idOf('osId')} value={fields.osId} onChange={(e) => { chooseOs(e.target.value, true); setErrors((x) => ({ ...x, osId: undefined })); }} {...invalid('osId')}>
                {fields.osId === '' && <option value="">Choose…</option>}
                {osOptions.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
              </select>
              <p id={`${idOf('osId')}-hint`} className="hint">
                {fields.method === 'iso' ? 'Filled in from the ISO; change it if the detection is wrong.' : 'Sets the recommended memory, CPUs and disk size.'}
              </p>
              {fieldError('osId')}
            </div>
          </>
        );
      case 'resources': {
        const mem = Number(fields.memoryMiB);
        return (
          <>
            {rec && preset && (
              <p className="hint">Recommended for {osName || preset.name}: {rec.cpus} CPU{rec.cpus === 1 ? '' : 's'}, {formatMiB(rec.memoryMiB)}
                {host ? ` (host: ${host.cpus} CPUs, ${formatBytes(host.memoryBytes)})` : ''}.</p>
            )}
            {rec && rec.notes.length > 0 && <ul className="warnings">{rec.notes.map((n) => <li key={n}>{n}</li>)}</ul>}
            <div className="field-row">
              <div className="field">
                <label htmlFor={idOf('memoryMiB')}>Memory (MiB)</label>
                <input id={idOf('memoryMiB')} type="number" inputMode="numeric" min={16} step={256} value={fields.memoryMiB}
                  onChange={(e) => update('memoryMiB', e.target.value)} {...invalid('memoryMiB')} />
                <p id={`${idOf('memoryMiB')}-hint`} className="hint">{Number.isFinite(mem) && mem > 0 ? formatMiB(mem) : ' '}</p>
                {fieldError('memoryMiB')}
              </div>
              <div className="field">
                <label htmlFor={idOf('cpus')}>CPUs</label>
                <input id={idOf('cpus')} type="number" inputMode="numeric" min={1} max={host?.cpus ?? 64} value={fields.cpus}
                  onChange={(e) => update('cpus', e.target.value)} {...invalid('cpus')} />
                <p id={`${idOf('cpus')}-hint`} className="hint">{host ? `Up to ${host.cpus}.` : ' '}</p>
                {fieldError('cpus')}
              </div>
            </div>
            {host && mem * 1024 * 1024 > host.memoryBytes * 0.75 && mem * 1024 * 1024 <= host.memoryBytes && (
              <p className="warning-text" role="status">This leaves the host less than a quarter of its memory.</p>
            )}
            {preset && Number.isFinite(mem) && mem > 0 && mem < Math.min(preset.memoryMiB, 1024) && (
              <p className="warning-text" role="status">{preset.name} may not install with less than {formatMiB(Math.min(preset.memoryMiB, 1024))}.</p>
            )}
          </>
        );
      }
      case 'storage':
        return (
          <>
            <fieldset className="choices">
              <legend>Disk</legend>
              {radio('storage', 'new', 'Create a new disk image')}
              {radio('storage', 'existing', 'Use an existing disk image')}
              {radio('storage', 'none', 'No disk', fields.method === 'iso' ? '(the installer will have nowhere to install)' : undefined)}
            </fieldset>
            {fields.storage === 'new' && (
              <>
                <div className="field-row">
                  <div className="field">
                    <label htmlFor={idOf('diskSizeGiB')}>Size (GiB)</label>
                    <input id={idOf('diskSizeGiB')} type="number" inputMode="numeric" min={1} value={fields.diskSizeGiB}
                      onChange={(e) => update('diskSizeGiB', e.target.value)} {...invalid('diskSizeGiB')} />
                    <p id={`${idOf('diskSizeGiB')}-hint`} className="hint">{preset ? `${preset.diskGiB} GiB recommended for ${preset.name}.` : ' '}</p>
                    {fieldError('diskSizeGiB')}
                  </div>
                  <div className="field">
                    <label htmlFor={idOf('diskFormat')}>Format</label>
                    <select id={idOf('diskFormat')} value={fields.diskFormat} onChange={(e) => update('diskFormat', e.target.value === 'raw' ? 'raw' : 'qcow2')}>
                      <option value="qcow2">qcow2 (grows as used)</option>
                      <option value="raw">raw (sparse file)</option>
                    </select>
                    <p id={`${idOf('diskFormat')}-hint`} className="hint">qcow2 takes little space until the guest writes.</p>
                  </div>
                </div>
                <div className="field">
                  <label htmlFor={idOf('diskPath')}>Location</label>
                  <input id={idOf('diskPath')} type="text" autoComplete="off" spellCheck={false} value={fields.diskPath}
                    placeholder={diskPathFor({ ...fields, diskPath: '' }, host)} onChange={(e) => update('diskPath', e.target.value)} {...invalid('diskPath')} />
                  <p id={`${idOf('diskPath')}-hint`} className="hint">Leave empty for {diskPathFor({ ...fields, diskPath: '' }, host)} (named after the VM).</p>
                  {fieldError('diskPath')}
                </div>
              </>
            )}
            {fields.storage === 'existing' && pathField('existingDiskPath', 'Disk image', 'qcow2 or raw; it is used in place.')}
          </>
        );
      case 'finish':
        return (
          <>
            <div className="field">
              <label htmlFor={idOf('name')}>Name</label>
              <input id={idOf('name')} type="text" autoComplete="off" maxLength={100} value={fields.name}
                onChange={(e) => update('name', e.target.value)} {...invalid('name')} />
              <p id={`${idOf('name')}-hint`} className="hint">Unique among your VMs.</p>
              {fieldError('name')}
            </div>
            <fieldset className="choices">
              <legend>Firmware</legend>
              <label className="choice"><input type="radio" name={`${baseId}-fw`} checked readOnly /> <span className="choice-label">BIOS (SeaBIOS)</span></label>
              <label className="choice disabled" title="not available yet">
                <input type="radio" name={`${baseId}-fw`} disabled aria-describedby={`${baseId}-uefi-why`} />
                <span><span className="choice-label">UEFI</span> <span id={`${baseId}-uefi-why`} className="hint">not available yet</span></span>
              </label>
              {preset?.firmware === 'uefi' && (
                <p className="warning-text">{preset.name} expects UEFI{preset.tpm === 'required' ? ' and a TPM 2.0' : ''}; its installer may refuse BIOS-only machines until Vireo offers UEFI.</p>
              )}
            </fieldset>
            <div className="field">
              <label htmlFor={idOf('network')}>Network</label>
              <select id={idOf('network')} value={fields.network} onChange={(e) => update('network', e.target.value === 'none' ? 'none' : 'user')}>
                <option value="user">User-mode NAT (the guest reaches out; nothing reaches in)</option>
                <option value="none">None</option>
              </select>
            </div>
            {preset?.virtioDrivers === 'needed' && (
              <fieldset className="choices" aria-describedby={`${baseId}-virtio-hint`}>
                <legend>virtio drivers</legend>
                <p id={`${baseId}-virtio-hint`} className="hint">{preset.name} has no virtio drivers of its own; the virtio-win ISO provides them (faster disk and network).</p>
                {radio('virtio', 'file', 'Attach a local virtio-win ISO')}
                {fields.virtio === 'file' && pathField('virtioPath', 'virtio-win ISO', 'Attached as a second CD-ROM.')}
                {radio('virtio', 'download', 'Download the virtio-win ISO')}
                {fields.virtio === 'download' && (
                  <div className="download">
                    <div className="field">
                      <label htmlFor={`${baseId}-url`}>Download from</label>
                      <input id={`${baseId}-url`} type="url" value={downloadUrl} spellCheck={false}
                        disabled={download?.status === 'running'} onChange={(e) => setDownloadUrl(e.target.value)} />
                    </div>
                    <DownloadStatus
                      download={download} error={errors.virtioDownload} errorId={`${idOf('virtioDownload')}-error`}
                      onStart={() => {
                        setErrors((x) => ({ ...x, virtioDownload: undefined }));
                        store.getState().startDownload({ url: downloadUrl.trim() || undefined, destDir: host?.imageDir ?? '' })
                          .then(setDownloadId, (err: unknown) => setErrors((x) => ({ ...x, virtioDownload: messageOf(err) })));
                      }}
                      onCancel={() => { if (downloadId) void store.getState().cancelDownload(downloadId).catch(() => undefined); }}
                      buttonId={idOf('virtioDownload')}
                    />
                  </div>
                )}
                {radio('virtio', 'none', 'No drivers', '(IDE disk and e1000 network)')}
              </fieldset>
            )}
            <div className="summary">
              <h4>Devices</h4>
              <p>Disk: <strong>{models.disk === 'virtio' ? 'virtio-blk' : 'IDE'}</strong> · Network: <strong>{fields.network === 'none' ? 'none' : models.nic === 'virtio' ? 'virtio-net' : 'Intel e1000'}</strong></p>
              <p className="hint">{models.why}</p>
              <p className="hint">
                {osName || preset?.name} · {fields.cpus} CPU{fields.cpus === '1' ? '' : 's'} · {formatMiB(Number(fields.memoryMiB) || 0)}
                {fields.method !== 'import' && fields.storage === 'new' ? ` · new ${fields.diskSizeGiB} GiB ${fields.diskFormat} disk at ${diskPathFor(fields, host)}` : ''}
              </p>
            </div>
            <label className="check">
              <input type="checkbox" checked={customize} onChange={(e) => setCustomize(e.target.checked)} />
              Customize configuration before install
            </label>
            <p className="hint">{customize ? 'The VM is created but not started: its details open for editing; press Start when ready.' : 'The VM starts as soon as it is created.'}</p>
          </>
        );
    }
  };

  return (
    <Modal title="New virtual machine" onCancel={() => { if (!picker) closeDialog(); }} className="wizard">
      <ol className="wizard-steps" aria-label="Steps">
        {STEPS.map((s, i) => (
          <li key={s} aria-current={i === stepIndex ? 'step' : undefined} className={i < stepIndex ? 'done' : undefined}>
            {STEP_TITLES[s]}
          </li>
        ))}
      </ol>
      <form className="form" onSubmit={submit} noValidate>
        <h3 className="wizard-step-title">Step {stepIndex + 1} of {STEPS.length}: {STEP_TITLES[step]}</h3>
        <div ref={bodyRef} className="wizard-body">{stepBody()}</div>
        {formError && <p className="form-error" role="alert">{formError}</p>}
        <div className="actions">
          <button type="button" className="btn" onClick={closeDialog}>Cancel</button>
          <button type="button" className="btn" onClick={back} disabled={stepIndex === 0 || busy}>Back</button>
          <button type="submit" className="btn primary" disabled={busy || inspecting || !ready}>
            {step === 'finish' ? (busy ? 'Creating…' : 'Create') : 'Next'}
          </button>
        </div>
      </form>
      {picker && (
        <FileBrowserDialog
          title={PICKERS[picker].title}
          extensions={PICKERS[picker].extensions}
          onCancel={() => setPicker(null)}
          onChoose={(p) => { const field = picker; setPicker(null); setPath(field, p); }}
        />
      )}
    </Modal>
  );
}

/** The virtio-win download's controls: Download, then a progress bar with bytes, speed and ETA, and Cancel. */
function DownloadStatus({ download, error, errorId, buttonId, onStart, onCancel }: {
  download: DownloadState | null;
  error: string | undefined;
  errorId: string;
  buttonId: string;
  onStart(): void;
  onCancel(): void;
}) {
  const p = download?.progress ?? null;
  const text = p
    ? `${formatBytes(p.receivedBytes)}${p.totalBytes !== null ? ` of ${formatBytes(p.totalBytes)}` : ''}`
      + `${p.bytesPerSec > 0 ? ` · ${formatBytes(p.bytesPerSec)}/s` : ''}${p.etaSec !== null && download?.status === 'running' ? ` · ${formatEta(p.etaSec)} left` : ''}`
    : 'Starting…';
  return (
    <div className="download-status">
      {(!download || download.status === 'failed' || download.status === 'cancelled') && (
        <button id={buttonId} type="button" className="btn" onClick={onStart} aria-describedby={error ? errorId : undefined}>
          {download ? 'Retry download' : 'Download'}
        </button>
      )}
      {download?.status === 'running' && (
        <div className="progress-row">
          <progress aria-label="Download progress" max={p?.totalBytes ?? undefined} value={p?.totalBytes ? p.receivedBytes : undefined} />
          <span className="hint" aria-live="polite">{text}</span>
          <button id={buttonId} type="button" className="btn small" onClick={onCancel}>Cancel download</button>
        </div>
      )}
      {download?.status === 'done' && <p role="status">Downloaded to <code>{download.path}</code>{download.label ? ` (${download.label})` : ''}; attached as a second CD-ROM.</p>}
      {download?.status === 'failed' && <p className="form-error" role="alert">{download.error}</p>}
      {download?.status === 'cancelled' && <p className="hint" role="status">Download cancelled.</p>}
      {error && <p id={errorId} className="field-error" role="alert">{error}</p>}
    </div>
  );
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
