/**
 * The VM configuration document: one JSON file per VM in the data directory.
 *
 * Versioned: every stored document carries `version`. `parseVmConfig` migrates older
 * versions step by step (vN -> vN+1) before validating against the current schema, so
 * a document written by an older Vireo still loads.
 */
import { z } from 'zod';

/** Current VM configuration document version. */
export const VM_CONFIG_VERSION = 1;

/** Disk image formats Vireo reads and writes. */
export const DiskFormat = z.enum(['raw', 'qcow2', 'iso']);
/** @see DiskFormat */
export type DiskFormat = z.infer<typeof DiskFormat>;

/** One drive attached to the VM: a disk or a CD-ROM (the media path may be empty). */
export const DriveConfig = z.object({
  id: z.string().min(1).max(64),
  kind: z.enum(['disk', 'cdrom']),
  /** Absolute path of the image; empty for an empty CD-ROM drive. */
  path: z.string(),
  format: DiskFormat,
  bus: z.enum(['ide', 'virtio', 'scsi']).default('ide'),
  readOnly: z.boolean().default(false),
});
/** @see DriveConfig */
export type DriveConfig = z.infer<typeof DriveConfig>;

/** Boot devices in the order the firmware tries them. */
export const BootDevice = z.enum(['cdrom', 'disk', 'network']);
/** @see BootDevice */
export type BootDevice = z.infer<typeof BootDevice>;

/**
 * The screen: a TCP VNC listener on 127.0.0.1 for external VNC clients, off by default.
 * When on it always asks for a password (VNC Authentication; only the first 8 characters
 * count, and the password is stored in the VM file as given).
 */
export const DisplayConfig = z.object({
  vnc: z.object({
    enabled: z.boolean().default(false),
    /** TCP port on 127.0.0.1 (5900 + display number by convention). */
    port: z.number().int().min(1024, 'port must be at least 1024').max(65535).default(5900),
    password: z.string().max(64).optional(),
  }).strict().refine((v) => !v.enabled || (v.password !== undefined && v.password.length > 0), {
    message: 'a password is required when the VNC listener is enabled', path: ['password'],
  }).default({ enabled: false, port: 5900 }),
}).strict();
/** @see DisplayConfig */
export type DisplayConfig = z.infer<typeof DisplayConfig>;

/**
 * The serial port (COM1) beyond the app's own serial console. `pty`: while the VM runs, the
 * host also offers COM1 as a pseudo-terminal (Linux and macOS hosts), like QEMU's
 * `-serial pty`; its path is reported in the VM's entry (`serialPty`). Off by default.
 */
/**
 * Input devices besides the PS/2 keyboard and mouse every PC has. `tablet`: a virtio
 * tablet (1af4:1052) that gives the console's pointer as absolute positions once the
 * guest's driver runs (no pointer drift), as virt-manager adds a USB tablet. On by default.
 */
export const InputConfig = z.object({
  tablet: z.boolean().default(true),
}).strict();
/** @see InputConfig */
export type InputConfig = z.infer<typeof InputConfig>;

export const SerialConfig = z.object({
  pty: z.boolean().default(false),
}).strict();
/** @see SerialConfig */
export type SerialConfig = z.infer<typeof SerialConfig>;

/** The VM configuration, current version. */
export const VmConfig = z.object({
  version: z.literal(VM_CONFIG_VERSION),
  id: z.string().regex(/^[a-z0-9-]{8,64}$/, 'id must be 8-64 lowercase letters, digits or dashes'),
  name: z.string().trim().min(1, 'name must not be empty').max(100, 'name must be at most 100 characters'),
  os: z.object({
    id: z.string().min(1),
    name: z.string().min(1),
  }),
  firmware: z.enum(['bios', 'uefi']).default('bios'),
  cpus: z.number().int().min(1, 'cpus must be at least 1').max(64, 'cpus must be at most 64'),
  memoryMiB: z.number().int().min(16, 'memoryMiB must be at least 16').max(1024 * 1024),
  drives: z.array(DriveConfig).default([]),
  bootOrder: z.array(BootDevice).min(1).default(['cdrom', 'disk']),
  network: z.object({
    mode: z.enum(['user', 'none']).default('user'),
    model: z.enum(['e1000', 'virtio', 'rtl8139']).default('e1000'),
  }).default({ mode: 'user', model: 'e1000' }),
  backend: z.enum(['auto', 'interp', 'kvm']).default('auto'),
  /** How the screen can be reached besides the app's own console (absent: the app only). */
  display: DisplayConfig.optional(),
  /**
   * The serial port's host side besides the app's console (absent: the console only).
   * Optional, like `display`: documents without it are valid version-1 documents, so no
   * migration step is needed.
   */
  serial: SerialConfig.optional(),
  /** Input devices beyond the PS/2 keyboard and mouse (absent: the defaults). Optional, no migration. */
  input: InputConfig.optional(),
  createdAt: z.string(),
});
/** @see VmConfig */
export type VmConfig = z.infer<typeof VmConfig>;

/** What a client sends to create a VM: the host assigns id, version and createdAt. */
export const VmConfigDraft = VmConfig.omit({ version: true, id: true, createdAt: true });
/** @see VmConfigDraft */
export type VmConfigDraft = z.input<typeof VmConfigDraft>;

/** Migrations: index N turns a version-N document into version N+1 (plain data in, plain data out). */
const MIGRATIONS: ReadonlyArray<(doc: Record<string, unknown>) => Record<string, unknown>> = [
  // version 0 (pre-release documents had no version field) -> 1
  (doc) => ({ ...doc, version: 1 }),
];

/** A human-readable summary of a zod error: "field.path: message; ...". */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(document)'}: ${i.message}`)
    .join('; ');
}

/** Result of parsing an untrusted document. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Parses an untrusted VM configuration document: migrates it to the current version,
 * then validates it. Errors name the offending field.
 */
export function parseVmConfig(input: unknown): ParseResult<VmConfig> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: '(document): expected a JSON object' };
  }
  let doc = input as Record<string, unknown>;
  const rawVersion = doc['version'] ?? 0;
  if (typeof rawVersion !== 'number' || !Number.isInteger(rawVersion) || rawVersion < 0) {
    return { ok: false, error: 'version: expected a non-negative integer' };
  }
  if (rawVersion > VM_CONFIG_VERSION) {
    return { ok: false, error: `version: ${rawVersion} is newer than this Vireo understands (${VM_CONFIG_VERSION})` };
  }
  for (let v = rawVersion; v < VM_CONFIG_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) return { ok: false, error: `version: no migration from ${v}` };
    doc = step(doc);
  }
  const parsed = VmConfig.safeParse(doc);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: describeZodError(parsed.error) };
}
