/**
 * The VM details editor's model, pure: the form (text as typed), turning it into a VmConfig
 * checked by the protocol's zod schema (field-level messages keyed by the schema path, as
 * `describeZodError` names them), what may change while the VM runs (CD-ROM media only),
 * and the boot-order and drive helpers.
 */
import { VmConfig, type BootDevice, type DriveConfig } from '../../../../protocol/index.js';

/** The editor's tabs (besides Console). */
export const EDITOR_TABS = ['overview', 'cpus', 'memory', 'boot', 'disks', 'network', 'display', 'input', 'serial'] as const;
/** @see EDITOR_TABS */
export type EditorTab = (typeof EDITOR_TABS)[number];
/** Tab labels. */
export const TAB_LABELS: Record<EditorTab | 'console', string> = {
  overview: 'Overview', cpus: 'CPUs', memory: 'Memory', boot: 'Boot order', disks: 'Disks and CD-ROMs',
  network: 'Network', display: 'Display', input: 'Input', serial: 'Serial port', console: 'Console',
};

/** The tab that shows the field at schema path `key`. */
export function tabOfField(key: string): EditorTab {
  const head = key.split('.')[0] ?? '';
  switch (head) {
    case 'cpus': return 'cpus';
    case 'memoryMiB': return 'memory';
    case 'bootOrder': return 'boot';
    case 'drives': return 'disks';
    case 'network': return 'network';
    case 'display': return 'display';
    case 'serial': return 'serial';
    case 'input': return 'input';
    default: return 'overview';
  }
}

/** What the user edits: the config with numbers as typed. */
export interface EditorForm {
  name: string;
  osName: string;
  backend: VmConfig['backend'];
  cpus: string;
  memoryMiB: string;
  /** Every boot device with whether it is enabled, in order. */
  boot: { device: BootDevice; enabled: boolean }[];
  drives: DriveConfig[];
  networkMode: VmConfig['network']['mode'];
  networkModel: VmConfig['network']['model'];
  vncEnabled: boolean;
  vncPort: string;
  vncPassword: string;
  /** COM1 also as a host pseudo-terminal while the VM runs (`serial.pty`). */
  serialPty: boolean;
  /** A virtio tablet for the console's absolute pointer (`input.tablet`). */
  tablet: boolean;
}

/** Field errors keyed by schema path ("cpus", "drives.1.path", "display.vnc.port", ...). */
export type FieldErrors = Record<string, string>;

const ALL_BOOT: readonly BootDevice[] = ['cdrom', 'disk', 'network'];

/** The form showing `config`. */
export function formFromConfig(config: VmConfig): EditorForm {
  const vnc = config.display?.vnc;
  return {
    name: config.name,
    osName: config.os.name,
    backend: config.backend,
    cpus: String(config.cpus),
    memoryMiB: String(config.memoryMiB),
    boot: [
      ...config.bootOrder.map((device) => ({ device, enabled: true })),
      ...ALL_BOOT.filter((d) => !config.bootOrder.includes(d)).map((device) => ({ device, enabled: false })),
    ],
    drives: config.drives.map((d) => ({ ...d })),
    networkMode: config.network.mode,
    networkModel: config.network.model,
    vncEnabled: vnc?.enabled ?? false,
    vncPort: String(vnc?.port ?? 5900),
    vncPassword: vnc?.password ?? '',
    serialPty: config.serial?.pty ?? false,
    tablet: config.input?.tablet ?? true,
  };
}

/** Parses a whole number as typed; null if it is not one. */
function wholeNumber(text: string): number | null {
  const t = text.trim();
  return /^\d{1,9}$/.test(t) ? Number(t) : null;
}

/** True for an absolute path (POSIX, or a Windows drive / UNC path). */
export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

/** Result of {@link validateForm}. */
export type ValidateResult = { ok: true; config: VmConfig } | { ok: false; errors: FieldErrors };

/**
 * Builds the config `form` describes on top of `base` (id, version, createdAt, firmware
 * and the OS id are kept) and validates it with the VmConfig schema; every problem is
 * reported on its field. `nameTaken` tells whether another VM has a name.
 */
export function validateForm(base: VmConfig, form: EditorForm, nameTaken: (name: string) => boolean = () => false): ValidateResult {
  const errors: FieldErrors = {};
  const cpus = wholeNumber(form.cpus);
  if (cpus === null) errors['cpus'] = 'cpus must be a whole number';
  const memoryMiB = wholeNumber(form.memoryMiB);
  if (memoryMiB === null) errors['memoryMiB'] = 'memoryMiB must be a whole number of MiB';
  const port = wholeNumber(form.vncPort);
  if (port === null) errors['display.vnc.port'] = 'port must be a whole number';
  form.drives.forEach((d, i) => {
    if (d.kind === 'disk' && d.path.trim() === '') errors[`drives.${i}.path`] = 'path: a disk needs an image file';
    else if (d.path !== '' && !isAbsolutePath(d.path)) errors[`drives.${i}.path`] = 'path must be an absolute path';
  });
  const bootOrder = form.boot.filter((b) => b.enabled).map((b) => b.device);
  const display = form.vncEnabled || base.display !== undefined
    ? { vnc: { enabled: form.vncEnabled, port: port ?? 5900, ...(form.vncPassword !== '' ? { password: form.vncPassword } : {}) } }
    : undefined;
  // Like display: absent stays absent until the user turns the pty on.
  const serial = form.serialPty || base.serial !== undefined ? { pty: form.serialPty } : undefined;
  // Likewise: absent means the default (a tablet) until the user changes it.
  const input = !form.tablet || base.input !== undefined ? { tablet: form.tablet } : undefined;
  const candidate = {
    ...base,
    name: form.name,
    os: { ...base.os, name: form.osName },
    backend: form.backend,
    cpus: cpus ?? base.cpus,
    memoryMiB: memoryMiB ?? base.memoryMiB,
    bootOrder,
    drives: form.drives,
    network: { mode: form.networkMode, model: form.networkModel },
    ...(display ? { display } : {}),
    ...(serial ? { serial } : {}),
    ...(input ? { input } : {}),
  };
  if (!display) delete (candidate as { display?: unknown }).display;
  if (!serial) delete (candidate as { serial?: unknown }).serial;
  if (!input) delete (candidate as { input?: unknown }).input;
  const parsed = VmConfig.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(document)';
      if (key === 'bootOrder') errors[key] ??= 'bootOrder: enable at least one boot device';
      else errors[key] ??= issue.message;
    }
  }
  if (errors['name'] === undefined && nameTaken(form.name.trim())) errors['name'] = `name: a VM named "${form.name.trim()}" already exists`;
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors };
  return { ok: true, config: parsed.data };
}

/** Stable JSON (sorted keys) for comparisons. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
    : v));
}

/** True if `a` and `b` describe the same configuration. */
export function sameConfig(a: VmConfig, b: VmConfig): boolean {
  return stable(a) === stable(b);
}

/** True if `next` differs from `current` at most in the media of existing CD-ROM drives (what a running VM accepts). */
export function onlyMediaChanged(current: VmConfig, next: VmConfig): boolean {
  const strip = (c: VmConfig): unknown => ({ ...c, createdAt: '', drives: c.drives.map((d) => (d.kind === 'cdrom' ? { ...d, path: '', format: 'iso' } : d)) });
  return stable(strip(current)) === stable(strip(next));
}

/** Moves boot entry `index` by `delta` (-1 up, +1 down); out of range: unchanged. */
export function moveBoot(boot: EditorForm['boot'], index: number, delta: -1 | 1): EditorForm['boot'] {
  const to = index + delta;
  if (index < 0 || index >= boot.length || to < 0 || to >= boot.length) return boot;
  const next = [...boot];
  const [item] = next.splice(index, 1);
  if (item) next.splice(to, 0, item);
  return next;
}

/** A drive id not used yet: "disk0", "disk1", ... or "cd0", ... */
export function nextDriveId(drives: readonly DriveConfig[], kind: DriveConfig['kind']): string {
  const prefix = kind === 'disk' ? 'disk' : 'cd';
  for (let n = 0; ; n++) if (!drives.some((d) => d.id === `${prefix}${n}`)) return `${prefix}${n}`;
}

/** The image format of a disk file by its extension. */
export function diskFormatOf(p: string): 'qcow2' | 'raw' {
  return /\.qcow2$/i.test(p) ? 'qcow2' : 'raw';
}

/** A new disk drive for image `path` (IDE unless said otherwise). */
export function newDiskDrive(drives: readonly DriveConfig[], path: string, bus: DriveConfig['bus'] = 'ide'): DriveConfig {
  return { id: nextDriveId(drives, 'disk'), kind: 'disk', path, format: diskFormatOf(path), bus, readOnly: false };
}

/** A new CD-ROM drive (IDE, read-only), empty or with ISO `path`. */
export function newCdromDrive(drives: readonly DriveConfig[], path = ''): DriveConfig {
  return { id: nextDriveId(drives, 'cdrom'), kind: 'cdrom', path, format: 'iso', bus: 'ide', readOnly: true };
}

/** A default file name for a VM's additional disk: `<imageDir>/<slug>-<driveId>.qcow2`. */
export function newDiskPath(imageDir: string, vmName: string, driveId: string): string {
  const slug = vmName.trim().toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'vm';
  return `${imageDir.replace(/[\\/]+$/, '')}/${slug}-${driveId}.qcow2`;
}

/** A name for a clone of `name` that no VM has: "X clone", "X clone 2", ... */
export function suggestCloneName(name: string, taken: (n: string) => boolean): string {
  const base = `${name} clone`.slice(0, 92);
  if (!taken(base)) return base;
  for (let n = 2; ; n++) if (!taken(`${base} ${n}`)) return `${base} ${n}`;
}
