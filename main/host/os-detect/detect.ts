/**
 * Install-media OS detection: reads the image's labels (ISO 9660, Joliet, UDF) and a few
 * well-known files, then matches them against osinfo-db when it is installed (as
 * libosinfo does) and else against Vireo's compact presets. The result always carries
 * Vireo's recommendations for the OS (cpus, memory, disk, firmware, TPM, virtio drivers).
 */
import type { DetectedOs, IsoInspection, OsPreset } from '../../../protocol/index.js';
import { IsoImage } from './iso-reader.js';
import { OSINFO_DIR, loadOsinfo, matchOsinfo, type MediaIdentity, type OsinfoOs } from './osinfo.js';
import { loadPresets, publicPreset, type StoredPreset } from './presets.js';

/** Options of {@link inspectIso} (tests point them at fixtures). */
export interface InspectOptions {
  /** osinfo-db directory (default /usr/share/osinfo); null disables osinfo. */
  osinfoDir?: string | null;
  /** Presets file (default assets/presets/os-presets.json). */
  presetsFile?: string;
}

/** Files whose presence tells something about the media (checked in this order). */
export const WELL_KNOWN_FILES = [
  'sources/install.wim', 'sources/install.esd', 'sources/boot.wim', 'bootmgr',
  '.disk/info', '.treeinfo', '.alpine-release', 'casper', 'isolinux', 'isolinux/isolinux.cfg', 'EFI', 'EFI/BOOT', 'boot/grub',
] as const;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Reads `.treeinfo` (INI): the [release] (or older [general]) name and version. */
export function parseTreeinfo(text: string): { name: string; version: string } | null {
  let section = '';
  const values: Record<string, Record<string, string>> = {};
  for (const line of text.split(/\r?\n/)) {
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (sec) {
      section = sec[1] ?? '';
      continue;
    }
    const kv = /^\s*([^=#;]+?)\s*=\s*(.*?)\s*$/.exec(line);
    if (kv && section) (values[section] ??= {})[kv[1] ?? ''] = kv[2] ?? '';
  }
  const rel = values['release'] ?? values['general'];
  if (!rel || !rel['name']) return null;
  return { name: rel['name'], version: rel['version'] ?? '' };
}

/** Vireo's recommendation for an osinfo entry: the preset of the same id, else derived. */
function presetForOsinfo(os: OsinfoOs, presets: StoredPreset[]): OsPreset {
  const own = presets.find((p) => p.id === os.shortId);
  if (own) return publicPreset(own);
  const family = os.family.startsWith('win') ? 'windows' : os.family === 'linux' ? 'linux' : 'other';
  return {
    id: os.shortId,
    name: os.name,
    family,
    cpus: Math.max(1, os.resources.cpus ?? (family === 'other' ? 1 : 2)),
    memoryMiB: Math.max(16, Math.round((os.resources.ramBytes ?? (family === 'other' ? 512 : 2048) * MiB) / MiB)),
    diskGiB: Math.max(1, Math.ceil((os.resources.storageBytes ?? (family === 'other' ? 4 : 20) * GiB) / GiB)),
    firmware: os.efiOnly ? 'uefi' : 'bios',
    tpm: 'none',
    virtioDrivers: family === 'windows' ? 'needed' : family === 'linux' ? 'builtin' : 'none',
  };
}

/** Whether every entry of `files` ("a|b" = either) is in `found`. */
function hasFiles(files: string[], found: Set<string>): boolean {
  return files.every((f) => f.split('|').some((alt) => found.has(alt.toLowerCase())));
}

/**
 * Inspects the install image at `path`. Throws NotIsoError when it is no ISO 9660/UDF
 * image ("not an ISO 9660/UDF image: PATH starts with ...").
 */
export async function inspectIso(path: string, options: InspectOptions = {}): Promise<IsoInspection> {
  const image = await IsoImage.open(path);
  try {
    const { info } = image;
    const warnings: string[] = [];
    const found = new Set<string>();
    const files: string[] = [];
    let diskInfo = '';
    let treeinfo: { name: string; version: string } | null = null;
    for (const f of WELL_KNOWN_FILES) {
      const entry = await image.find(f);
      if (!entry) continue;
      found.add(f.toLowerCase());
      files.push(f);
      if (f === '.disk/info' && !entry.isDir) diskInfo = (await image.readFile(entry, 4096)).toString('utf8').split('\n')[0]?.trim() ?? '';
      if (f === '.treeinfo' && !entry.isDir) treeinfo = parseTreeinfo((await image.readFile(entry)).toString('utf8'));
    }
    if (!image.hasIsoTree) warnings.push(`${path}: UDF-only image; its files were not checked, only its label`);
    const labels = { iso: info.isoLabel || null, joliet: info.jolietLabel || null, udf: info.udfLabel || null };
    const label = labels.udf ?? labels.iso ?? labels.joliet;
    const labelList = [labels.udf, labels.iso, labels.joliet].filter((l): l is string => !!l);
    const windowsFiles = found.has('sources/install.wim') || found.has('sources/install.esd');

    const presets = loadPresets(options.presetsFile);
    let os: DetectedOs | null = null;
    let alternatives: { id: string; name: string }[] = [];

    // 1. osinfo-db, as libosinfo matches media.
    const osinfoDir = options.osinfoDir === undefined ? OSINFO_DIR : options.osinfoDir;
    const db = osinfoDir === null ? null : await loadOsinfo(osinfoDir);
    if (db) {
      const seen = new Map<string, OsinfoOs>();
      for (const volumeId of labelList) {
        const identity: MediaIdentity = {
          volumeId, systemId: info.systemId, publisherId: info.publisherId, applicationId: info.applicationId,
          volumeSizeBytes: info.volumeSizeBytes,
        };
        for (const m of matchOsinfo(db, identity)) if (!seen.has(m.uri)) seen.set(m.uri, m);
      }
      const matches = [...seen.values()].sort((a, b) => b.releaseDate.localeCompare(a.releaseDate));
      const top = matches[0];
      if (top) {
        const preset = presetForOsinfo(top, presets);
        const familyAgrees = preset.family !== 'windows' || windowsFiles;
        os = {
          id: preset.id, name: top.name, source: 'osinfo', preset,
          confidence: matches.length === 1 && familyAgrees ? 'high' : 'medium',
        };
        alternatives = matches.slice(1, 8).map((m) => ({ id: m.shortId, name: m.name }));
        if (matches.length > 1) {
          warnings.push(`the label "${label ?? ''}" also matches ${alternatives.map((a) => a.name).join(', ')}; check the OS below`);
        }
      }
    }

    // 2. Vireo's presets: file contents first, then labels (+ required files), then families.
    if (!os) {
      const byContent = presets.filter((p) =>
        (p.diskInfo !== undefined && diskInfo !== '' && new RegExp(p.diskInfo).test(diskInfo))
        || (p.treeinfo !== undefined && treeinfo !== null
          && new RegExp(p.treeinfo.name).test(treeinfo.name) && new RegExp(p.treeinfo.version).test(treeinfo.version)));
      const byLabel = presets.filter((p) => p.volumeIds.some((re) => labelList.some((l) => new RegExp(re).test(l))));
      const pick = (list: StoredPreset[], confidence: DetectedOs['confidence']): void => {
        const top = list[0];
        if (!top) return;
        os = { id: top.id, name: top.name, source: 'presets', confidence, preset: publicPreset(top) };
        alternatives = list.slice(1).map((p) => ({ id: p.id, name: p.name }));
        if (list.length > 1) {
          warnings.push(`the label "${label ?? ''}" also matches ${alternatives.map((a) => a.name).join(', ')}; check the OS below`);
        }
      };
      if (byContent.length > 0) {
        pick(byContent, 'high');
      } else if (byLabel.length > 0) {
        const withFiles = byLabel.filter((p) => hasFiles(p.files, found));
        if (withFiles.length > 0) {
          pick(withFiles, withFiles.length === 1 && withFiles[0]?.files.length ? 'high' : 'medium');
        } else {
          pick(byLabel, 'medium');
          const expected = byLabel[0]?.files ?? [];
          if (image.hasIsoTree && expected.length > 0 && !(byLabel[0]?.family === 'windows' && info.hasUdf && !image.hasUdfTree)) {
            warnings.push(`the label looks like ${byLabel[0]?.name ?? ''} but ${expected.join(', ')} is missing`);
          }
        }
      } else {
        const generic = windowsFiles ? presets.find((p) => p.id === 'win-generic')
          : (diskInfo || treeinfo || found.has('casper') || found.has('isolinux') || found.has('.alpine-release'))
            ? presets.find((p) => p.id === 'linux-generic') : undefined;
        if (generic) {
          const named = diskInfo ? diskInfo.replace(/\s+-\s+.*$/, '') : treeinfo ? `${treeinfo.name} ${treeinfo.version}`.trim() : '';
          pick([generic], 'low');
          if (named && os) (os as DetectedOs).name = named;
        }
      }
    }
    if (!os) warnings.push(`Vireo did not recognise the OS on ${path}${label ? ` (label "${label}")` : ''}; choose it below`);
    return {
      path, label, labels, sizeBytes: image.fileSizeBytes, files, os, alternatives, warnings,
    };
  } finally {
    await image.close();
  }
}

/** Every preset in the API's shape. */
export function listPresets(presetsFile?: string): OsPreset[] {
  return loadPresets(presetsFile).map(publicPreset);
}
