/**
 * Vireo's own OS presets (`assets/presets/os-presets.json`): the recommendations the wizard
 * offers, and the detection rules used when osinfo-db is not installed (volume-label
 * regexes, files that must exist, `.disk/info` and `.treeinfo` patterns).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { OsPreset, describeZodError } from '../../../protocol/index.js';

/** A preset as stored: the API's OsPreset plus detection rules. */
export const StoredPreset = OsPreset.extend({
  /** Regexes matched against the volume labels. */
  volumeIds: z.array(z.string()).default([]),
  /** Paths that must all exist on the media; "a|b" means either. */
  files: z.array(z.string()).default([]),
  /** Regex matched against the first line of `.disk/info` (Debian, Ubuntu). */
  diskInfo: z.string().optional(),
  /** Regexes matched against `.treeinfo`'s [release] (or [general]) name and version (Fedora, RHEL). */
  treeinfo: z.object({ name: z.string(), version: z.string() }).optional(),
});
/** @see StoredPreset */
export type StoredPreset = z.infer<typeof StoredPreset>;

/** The presets file. */
export const PresetsFile = z.object({ version: z.literal(1), comment: z.string().optional(), presets: z.array(StoredPreset).min(1) });

/** Finds `assets/presets/os-presets.json` above this module (source and dist/ layouts). */
export function defaultPresetsPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'assets', 'presets', 'os-presets.json');
    try {
      readFileSync(candidate, { flag: 'r' });
      return candidate;
    } catch {
      // keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('assets/presets/os-presets.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

const cache = new Map<string, StoredPreset[]>();

/** Loads and validates the presets file (cached per path); errors name the file and field. */
export function loadPresets(file = defaultPresetsPath()): StoredPreset[] {
  const hit = cache.get(file);
  if (hit) return hit;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  const parsed = PresetsFile.safeParse(raw);
  if (!parsed.success) throw new Error(`${file}: ${describeZodError(parsed.error)}`);
  for (const p of parsed.data.presets) {
    for (const re of p.volumeIds) {
      try {
        new RegExp(re);
      } catch (err) {
        throw new Error(`${file}: presets.${p.id}.volumeIds: ${(err as Error).message}`);
      }
    }
  }
  cache.set(file, parsed.data.presets);
  return parsed.data.presets;
}

/** The API view of a stored preset (detection rules removed). */
export function publicPreset(p: StoredPreset): OsPreset {
  return OsPreset.parse(p);
}
