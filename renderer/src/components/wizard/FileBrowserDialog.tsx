/**
 * The browser shell's file picker: a modal over the host's `files.list`, confined by the
 * host to its configured roots (home and the data folder by default). Folders open on
 * click or Enter; a file is chosen with a click and Open, or a double click.
 */
import { useCallback, useEffect, useState } from 'react';
import type { ApiResult } from '../../../../protocol/index.js';
import { useAppStore } from '../../store/context.js';
import { Modal } from '../Modal.js';
import { formatBytes } from './wizard-model.js';

/** Props of {@link FileBrowserDialog}. */
export interface FileBrowserDialogProps {
  /** Dialog title, e.g. "Choose the install ISO". */
  title: string;
  /** File extensions offered (without dot); folders are always shown. Empty: every file. */
  extensions: string[];
  /** Called with the chosen file's path. */
  onChoose(path: string): void;
  /** Called on Cancel or Escape. */
  onCancel(): void;
}

/** The file browser dialog (mounted while open). */
export function FileBrowserDialog({ title, extensions, onChoose, onCancel }: FileBrowserDialogProps) {
  const listFiles = useAppStore((s) => s.listFiles);
  const [listing, setListing] = useState<ApiResult<'files.list'> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  const go = useCallback((dir?: string) => {
    setError(null);
    listFiles(dir).then((l) => {
      setListing(l);
      setSelected(null);
    }, (err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  }, [listFiles]);

  useEffect(() => { go(); }, [go]);

  const wanted = (name: string): boolean =>
    extensions.length === 0 || extensions.some((ext) => name.toLowerCase().endsWith(`.${ext.toLowerCase()}`));
  const entries = (listing?.entries ?? []).filter((e) => e.kind === 'dir' || wanted(e.name));

  return (
    <Modal title={title} onCancel={onCancel} className="file-browser">
      <div className="file-browser-bar">
        {listing?.roots.map((r) => (
          <button key={r} type="button" className="btn small" onClick={() => go(r)} aria-pressed={listing.dir === r}>{r}</button>
        ))}
      </div>
      <p className="file-browser-path">
        <button type="button" className="btn small" disabled={!listing?.parent} onClick={() => listing?.parent && go(listing.parent)}
          aria-label="Up one folder">↑ Up</button>
        <code aria-label="Current folder">{listing?.dir ?? '…'}</code>
      </p>
      {error && <p className="form-error" role="alert">{error}</p>}
      <ul className="file-list" aria-label="Files and folders">
        {listing && entries.length === 0 && <li className="muted">Nothing to choose here{extensions.length > 0 ? ` (showing ${extensions.map((e) => `.${e}`).join(', ')} files)` : ''}.</li>}
        {entries.map((e) => (
          <li key={e.path}>
            <button
              type="button"
              className={`file-entry${selected === e.path ? ' selected' : ''}`}
              aria-pressed={e.kind === 'file' ? selected === e.path : undefined}
              data-autofocus={entries[0] === e ? true : undefined}
              onClick={() => (e.kind === 'dir' ? go(e.path) : setSelected(e.path))}
              onDoubleClick={() => { if (e.kind === 'file') onChoose(e.path); }}
            >
              <span aria-hidden="true">{e.kind === 'dir' ? '📁' : '📄'}</span> {e.kind === 'dir' ? `${e.name}/` : e.name}
              {e.kind === 'file' && <span className="muted file-size">{formatBytes(e.sizeBytes)}</span>}
            </button>
          </li>
        ))}
      </ul>
      <div className="actions">
        <button type="button" className="btn" onClick={onCancel}>Cancel</button>
        <button type="button" className="btn primary" disabled={!selected} onClick={() => { if (selected) onChoose(selected); }}>Open</button>
      </div>
    </Modal>
  );
}
