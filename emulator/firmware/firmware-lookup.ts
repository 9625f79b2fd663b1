/**
 * Firmware lookup: finds a firmware image (SeaBIOS, VGA BIOS, OVMF, QEMU's option
 * ROMs) by file name along a search path, over an injected file-system interface so
 * it stays pure (emulator/host/firmware-files.ts provides the node:fs one).
 *
 * Order: an explicit path the user chose, then the app's resources directory, then the
 * directories Debian's packages install into: /usr/share/seabios (seabios),
 * /usr/share/qemu (qemu-system-data, plus links into the others), /usr/share/OVMF and
 * /usr/share/ovmf (ovmf). Firmware is never bundled with Vireo (ARCHITECTURE:
 * "Firmware is not ours to write or to commit"), so a miss is an error that says
 * where we looked and which package to install.
 */

/** The file operations lookup needs. */
export interface FirmwareFs {
  /** Whether `path` names an existing regular file. */
  exists(path: string): boolean;
  /** The contents of `path`. */
  read(path: string): Uint8Array;
}

/** Where to look. */
export interface FirmwareSearchOptions {
  /** A full path the user configured; checked first. */
  readonly explicitPath?: string;
  /** The app's resources directory (checked after the explicit path). */
  readonly resourcesDir?: string;
  /** Replaces the system directories (tests, other distributions). */
  readonly systemDirs?: readonly string[];
}

/** A found image. */
export interface FirmwareImage {
  readonly path: string;
  readonly bytes: Uint8Array;
  /** Which entry of the search path matched. */
  readonly source: 'explicit' | 'resources' | 'system';
}

/** The system directories, in search order. */
export const SYSTEM_FIRMWARE_DIRS: readonly string[] = Object.freeze([
  '/usr/share/seabios',
  '/usr/share/qemu',
  '/usr/share/OVMF',
  '/usr/share/ovmf',
]);

/** Raised when no candidate exists; `searched` lists every path tried, in order. */
export class FirmwareNotFoundError extends Error {
  readonly fileName: string;
  readonly searched: readonly string[];
  readonly debianPackage: string | undefined;

  constructor(fileName: string, searched: readonly string[], debianPackage: string | undefined) {
    const hint = debianPackage
      ? `Install the Debian/Ubuntu package "${debianPackage}" (apt install ${debianPackage}) or set the firmware path in the VM settings.`
      : 'Set the firmware path in the VM settings.';
    super(`Firmware "${fileName}" was not found. Looked in:\n${searched.map((p) => `  ${p}`).join('\n')}\n${hint}`);
    this.name = 'FirmwareNotFoundError';
    this.fileName = fileName;
    this.searched = searched;
    this.debianPackage = debianPackage;
  }
}

/** The Debian package that ships `fileName`, when we know it. */
export function debianPackageFor(fileName: string): string | undefined {
  const base = baseName(fileName);
  if (/^(bios.*|vgabios.*)\.bin$/i.test(base)) return 'seabios';
  if (/^ovmf/i.test(base)) return 'ovmf';
  if (/^(efi|pxe)-.*\.rom$/i.test(base)) return 'ipxe-qemu';
  if (/^(linuxboot|linuxboot_dma|multiboot|multiboot_dma|pvh|kvmvapic|sgabios)\.bin$/i.test(base)) return 'qemu-system-data';
  return undefined;
}

/** Every path lookup would try for `fileName`, in order. */
export function firmwareCandidates(fileName: string, opts: FirmwareSearchOptions = {}): string[] {
  if (fileName.length === 0 || fileName.includes('\0')) throw new RangeError(`firmware: invalid file name "${fileName}"`);
  const out: string[] = [];
  if (opts.explicitPath) out.push(opts.explicitPath);
  if (fileName.includes('/')) {
    // A path, not a name: only the explicit path and the path itself make sense.
    out.push(fileName);
    return dedupe(out);
  }
  if (opts.resourcesDir) out.push(joinPath(opts.resourcesDir, fileName));
  for (const dir of opts.systemDirs ?? SYSTEM_FIRMWARE_DIRS) out.push(joinPath(dir, fileName));
  return dedupe(out);
}

/** Finds and reads `fileName`; throws FirmwareNotFoundError listing every place tried. */
export function findFirmware(fs: FirmwareFs, fileName: string, opts: FirmwareSearchOptions = {}): FirmwareImage {
  const candidates = firmwareCandidates(fileName, opts);
  for (const path of candidates) {
    if (!fs.exists(path)) continue;
    const source = path === opts.explicitPath ? 'explicit'
      : opts.resourcesDir && path.startsWith(trimSlash(opts.resourcesDir) + '/') ? 'resources' : 'system';
    return { path, bytes: fs.read(path), source };
  }
  throw new FirmwareNotFoundError(fileName, candidates, debianPackageFor(fileName));
}

function joinPath(dir: string, name: string): string {
  return `${trimSlash(dir)}/${name}`;
}

function trimSlash(dir: string): string {
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}

function baseName(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

function dedupe(paths: string[]): string[] {
  return [...new Set(paths)];
}
