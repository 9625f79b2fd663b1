/**
 * What may change on a running VM: only the media of its existing CD-ROM drives.
 * `mediaChanges` tells a media-only edit (with the worker slots to change) from any other.
 */
import type { VmConfig } from '../../protocol/index.js';

/** One CD-ROM medium change: `slot` is the drive's index in the worker config (= in `drives`). */
export interface MediaChange {
  slot: number;
  driveId: string;
  /** The new image, or null to eject. */
  path: string | null;
}

/** Stable JSON (sorted keys) for comparisons. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)));
    }
    return v;
  });
}

/** `config` with CD-ROM media blanked and createdAt dropped: what must stay equal while running. */
function withoutMedia(config: VmConfig): unknown {
  const { createdAt: _c, ...rest } = config;
  return { ...rest, drives: config.drives.map((d) => (d.kind === 'cdrom' ? { ...d, path: '', format: 'iso' } : d)) };
}

/**
 * The CD-ROM media changes that turn `current` into `next`, or null if `next` changes
 * anything else (which needs the VM shut down). An empty array: nothing changed.
 */
export function mediaChanges(current: VmConfig, next: VmConfig): MediaChange[] | null {
  if (stable(withoutMedia(current)) !== stable(withoutMedia(next))) return null;
  const changes: MediaChange[] = [];
  current.drives.forEach((d, slot) => {
    const n = next.drives[slot];
    if (d.kind === 'cdrom' && n && n.path !== d.path) changes.push({ slot, driveId: d.id, path: n.path === '' ? null : n.path });
  });
  return changes;
}

/** Names the fields of `next` that differ from `current` (top-level keys), for messages. */
export function changedFields(current: VmConfig, next: VmConfig): string[] {
  const a = withoutMedia(current) as Record<string, unknown>;
  const b = withoutMedia(next) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => stable(a[k]) !== stable(b[k])).sort();
}
