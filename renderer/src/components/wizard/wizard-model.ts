/**
 * The New-VM wizard as pure logic: its fields, per-step validation with field-level
 * messages, recommendations capped by the host, the disk/NIC model rule, and the plan
 * (disk to create + VM draft) the last step carries out. The React components only render
 * this and call the host.
 */
import { VmConfigDraft, type DriveConfig, type IsoInspection, type OsPreset } from '../../../../protocol/index.js';

/** The wizard's five steps, in order. */
export const STEPS = ['method', 'media', 'resources', 'storage', 'finish'] as const;
/** One step. */
export type StepId = (typeof STEPS)[number];
/** Step titles as the step list shows them. */
export const STEP_TITLES: Record<StepId, string> = {
  method: 'Install method', media: 'Install media', resources: 'Memory and CPUs', storage: 'Storage', finish: 'Finish',
};

/** Host facts the wizard needs. */
export interface HostFacts {
  cpus: number;
  memoryBytes: number;
  /** Default folder for new disk images. */
  imageDir: string;
}

/** Everything the user entered (inputs are kept as text, as typed). */
export interface WizardFields {
  method: 'iso' | 'import' | 'manual';
  isoPath: string;
  importPath: string;
  /** The chosen OS preset id ('' = none chosen yet). */
  osId: string;
  /** Whether the user picked the OS (detection no longer changes it). */
  osOverridden: boolean;
  memoryMiB: string;
  cpus: string;
  /** Whether the user edited memory / CPUs (OS changes no longer reset them). */
  resourcesTouched: boolean;
  storage: 'new' | 'existing' | 'none';
  diskSizeGiB: string;
  diskSizeTouched: boolean;
  diskFormat: 'qcow2' | 'raw';
  /** Where the new disk goes; '' = `<imageDir>/<vm name>.<format>`. */
  diskPath: string;
  existingDiskPath: string;
  name: string;
  network: 'user' | 'none';
  /** virtio-win drivers (Windows): none, a local ISO, or a download. */
  virtio: 'none' | 'file' | 'download';
  virtioPath: string;
}

/** Field names that can carry a message. */
export type WizardField = keyof WizardFields | 'virtioDownload';
/** Messages per field. */
export type WizardErrors = Partial<Record<WizardField, string>>;

/** The fields a new wizard starts with. */
export function initialFields(): WizardFields {
  return {
    method: 'iso', isoPath: '', importPath: '', osId: '', osOverridden: false,
    memoryMiB: '', cpus: '', resourcesTouched: false,
    storage: 'new', diskSizeGiB: '', diskSizeTouched: false, diskFormat: 'qcow2', diskPath: '', existingDiskPath: '',
    name: '', network: 'user', virtio: 'none', virtioPath: '',
  };
}

const MiB = 1024 * 1024;

/** A recommendation for one OS on this host, with notes when the host capped it. */
export interface Recommendation {
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  notes: string[];
}

/**
 * The preset's CPUs and memory capped by the host: at most every host CPU, and at most half
 * of the host's memory (rounded down to 256 MiB), never below 256 MiB.
 */
export function recommend(preset: OsPreset, host: HostFacts | null): Recommendation {
  const notes: string[] = [];
  let cpus = preset.cpus;
  let memoryMiB = preset.memoryMiB;
  if (host) {
    if (cpus > host.cpus) {
      notes.push(`${preset.name} recommends ${preset.cpus} CPUs; this host has ${host.cpus}, so ${host.cpus} ${host.cpus === 1 ? 'is' : 'are'} suggested.`);
      cpus = host.cpus;
    }
    const half = Math.max(256, Math.floor(host.memoryBytes / MiB / 2 / 256) * 256);
    if (memoryMiB > half) {
      notes.push(`${preset.name} recommends ${formatMiB(preset.memoryMiB)}; half of this host's memory (${formatMiB(half)}) is suggested.`);
      memoryMiB = half;
    }
  }
  return { cpus, memoryMiB, diskGiB: preset.diskGiB, notes };
}

/** "8 GiB", "512 MiB". */
export function formatMiB(mib: number): string {
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${mib} MiB`;
}

/** Bytes readably: "1.5 MiB", "3.2 GiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Seconds as "1 min 05 s" / "12 s". */
export function formatEta(sec: number): string {
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A file name from a VM name: "Windows 11 (work)" -> "windows-11-work". */
export function slugify(name: string): string {
  const slug = name.trim().toLowerCase().normalize('NFKD').replace(/\p{M}+/gu, '').replace(/[^\w-]+/g, '-').replace(/^-+|-+$/g, '').replace(/-{2,}/g, '-');
  return slug || 'vm';
}

/** The new disk's path: the one entered, else `<imageDir>/<slug of name>.<format>`. */
export function diskPathFor(fields: WizardFields, host: HostFacts | null): string {
  if (fields.diskPath.trim() !== '') return fields.diskPath.trim();
  const dir = host?.imageDir ?? '';
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return `${dir}${dir.endsWith(sep) ? '' : sep}${slugify(fields.name || fields.osId || 'vm')}.${fields.diskFormat}`;
}

/**
 * Whether the guest can use virtio devices: built-in drivers, or the virtio-win ISO
 * attached (`virtioAttached`: a file chosen, or the download finished).
 */
export function virtioReady(preset: OsPreset | null, virtioAttached: boolean): boolean {
  if (!preset) return false;
  if (preset.virtioDrivers === 'builtin') return true;
  return preset.virtioDrivers === 'needed' && virtioAttached;
}

/** The device models the VM gets and why (shown on the last step). */
export function deviceModels(preset: OsPreset | null, virtioAttached: boolean): { disk: 'virtio' | 'ide'; nic: 'virtio' | 'e1000'; why: string } {
  if (virtioReady(preset, virtioAttached)) {
    return {
      disk: 'virtio', nic: 'virtio',
      why: preset?.virtioDrivers === 'builtin'
        ? `${preset.name} has virtio drivers built in: disk on virtio-blk, network on virtio-net (the fastest).`
        : 'The virtio-win ISO is attached: load the storage driver from it (viostor) during setup; disk on virtio-blk, network on virtio-net.',
    };
  }
  return {
    disk: 'ide', nic: 'e1000',
    why: preset?.virtioDrivers === 'needed'
      ? 'Without the virtio drivers the installer would not see a virtio disk: disk on IDE, network on Intel e1000 (slower, but work out of the box).'
      : 'Disk on IDE and network on Intel e1000: hardware every OS knows.',
  };
}

function wholeNumber(text: string): number | null {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : null;
}

function isAbsolute(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p);
}

/** Context the validation needs besides the fields. */
export interface ValidationContext {
  host: HostFacts | null;
  preset: OsPreset | null;
  inspection: IsoInspection | null;
  inspectError: string | null;
  /** Whether another VM has this name. */
  nameTaken(name: string): boolean;
  /** State of the virtio download, when one was started. */
  download: { status: 'running' | 'done' | 'failed' | 'cancelled'; error: string | null } | null;
}

/** Validates one step; an empty object means it may be left with Next. */
export function validateStep(step: StepId, f: WizardFields, ctx: ValidationContext): WizardErrors {
  const e: WizardErrors = {};
  switch (step) {
    case 'method':
      break;
    case 'media':
      if (f.method === 'iso') {
        if (f.isoPath.trim() === '') e.isoPath = 'Choose the install ISO.';
        else if (!isAbsolute(f.isoPath.trim())) e.isoPath = 'Enter the full path of the ISO (starting with /).';
        else if (ctx.inspectError) e.isoPath = ctx.inspectError;
      } else if (f.method === 'import') {
        if (f.importPath.trim() === '') e.importPath = 'Choose the disk image to import.';
        else if (!isAbsolute(f.importPath.trim())) e.importPath = 'Enter the full path of the disk image (starting with /).';
      }
      if (!ctx.preset) e.osId = 'Choose the operating system.';
      break;
    case 'resources': {
      const mem = wholeNumber(f.memoryMiB);
      const cpus = wholeNumber(f.cpus);
      if (mem === null) e.memoryMiB = 'Memory must be a whole number of MiB (for example 2048).';
      else if (mem < 16) e.memoryMiB = 'Memory must be at least 16 MiB.';
      else if (ctx.host && mem * MiB > ctx.host.memoryBytes) e.memoryMiB = `Memory must not exceed the host's ${formatMiB(Math.floor(ctx.host.memoryBytes / MiB))}.`;
      if (cpus === null) e.cpus = 'CPUs must be a whole number (for example 2).';
      else if (cpus < 1) e.cpus = 'CPUs must be at least 1.';
      else if (ctx.host && cpus > ctx.host.cpus) e.cpus = `CPUs must not exceed the host's ${ctx.host.cpus}.`;
      else if (cpus > 64) e.cpus = 'CPUs must be at most 64.';
      break;
    }
    case 'storage':
      if (f.storage === 'new') {
        const size = wholeNumber(f.diskSizeGiB);
        if (size === null) e.diskSizeGiB = 'Size must be a whole number of GiB (for example 40).';
        else if (size < 1) e.diskSizeGiB = 'Size must be at least 1 GiB.';
        else if (size > 65536) e.diskSizeGiB = 'Size must be at most 65536 GiB (64 TiB).';
        if (f.diskPath.trim() !== '' && !isAbsolute(f.diskPath.trim())) e.diskPath = 'Enter the full path of the new image (starting with /), or leave it empty.';
      } else if (f.storage === 'existing') {
        if (f.existingDiskPath.trim() === '') e.existingDiskPath = 'Choose the disk image.';
        else if (!isAbsolute(f.existingDiskPath.trim())) e.existingDiskPath = 'Enter the full path of the disk image (starting with /).';
      }
      break;
    case 'finish': {
      const name = f.name.trim();
      if (name === '') e.name = 'Enter a name for the VM.';
      else if (name.length > 100) e.name = 'Name must be at most 100 characters.';
      else if (ctx.nameTaken(name)) e.name = `A VM named "${name}" already exists; choose another name.`;
      if (ctx.preset?.virtioDrivers === 'needed') {
        if (f.virtio === 'file') {
          if (f.virtioPath.trim() === '') e.virtioPath = 'Choose the virtio-win ISO, or pick another option.';
          else if (!isAbsolute(f.virtioPath.trim())) e.virtioPath = 'Enter the full path of the virtio-win ISO (starting with /).';
        } else if (f.virtio === 'download') {
          if (!ctx.download) e.virtioDownload = 'Start the download, or pick another option.';
          else if (ctx.download.status === 'running') e.virtioDownload = 'Wait for the download to finish, or cancel it.';
          else if (ctx.download.status !== 'done') e.virtioDownload = `The download did not finish${ctx.download.error ? `: ${ctx.download.error}` : ''}. Retry it or pick another option.`;
        }
      }
      break;
    }
  }
  return e;
}

/** What Finish does: maybe create a disk, then create the VM. */
export interface WizardPlan {
  disk: { path: string; sizeBytes: number; format: 'qcow2' | 'raw' } | null;
  draft: VmConfigDraft;
}

/** The format of an existing image by its name (.qcow2 -> qcow2, else raw). */
export function formatOfImage(p: string): 'qcow2' | 'raw' {
  return /\.qcow2?$/i.test(p) ? 'qcow2' : 'raw';
}

/**
 * Builds the plan from valid fields: drives are the disk (new, existing or imported), the
 * install ISO CD-ROM and the virtio-win CD-ROM; UEFI is not offered yet, so firmware is BIOS.
 */
export function buildPlan(f: WizardFields, preset: OsPreset, osName: string, host: HostFacts | null, virtioIsoPath: string | null): WizardPlan {
  const models = deviceModels(preset, virtioIsoPath !== null);
  const drives: DriveConfig[] = [];
  let disk: WizardPlan['disk'] = null;
  if (f.method === 'import') {
    drives.push({ id: 'disk0', kind: 'disk', path: f.importPath.trim(), format: formatOfImage(f.importPath.trim()), bus: models.disk, readOnly: false });
  } else if (f.storage === 'new') {
    disk = { path: diskPathFor(f, host), sizeBytes: Number(f.diskSizeGiB) * 1024 ** 3, format: f.diskFormat };
    drives.push({ id: 'disk0', kind: 'disk', path: disk.path, format: disk.format, bus: models.disk, readOnly: false });
  } else if (f.storage === 'existing') {
    drives.push({ id: 'disk0', kind: 'disk', path: f.existingDiskPath.trim(), format: formatOfImage(f.existingDiskPath.trim()), bus: models.disk, readOnly: false });
  }
  if (f.method === 'iso') drives.push({ id: 'cd0', kind: 'cdrom', path: f.isoPath.trim(), format: 'iso', bus: 'ide', readOnly: true });
  if (preset.virtioDrivers === 'needed' && virtioIsoPath) {
    drives.push({ id: 'cd1', kind: 'cdrom', path: virtioIsoPath, format: 'iso', bus: 'ide', readOnly: true });
  }
  const hasDisk = drives.some((d) => d.kind === 'disk');
  const hasCd = drives.some((d) => d.kind === 'cdrom');
  const bootOrder: ('cdrom' | 'disk')[] = f.method === 'iso' ? (hasDisk ? ['cdrom', 'disk'] : ['cdrom'])
    : hasDisk ? (hasCd ? ['disk', 'cdrom'] : ['disk']) : ['cdrom'];
  const draft: VmConfigDraft = {
    name: f.name.trim(),
    os: { id: preset.id, name: osName },
    firmware: 'bios',
    cpus: Number(f.cpus),
    memoryMiB: Number(f.memoryMiB),
    drives,
    bootOrder,
    network: { mode: f.network, model: models.nic },
  };
  return { disk, draft: VmConfigDraft.parse(draft) };
}
