/**
 * The VM library: one JSON document per VM at `<dataDir>/vms/<id>.json`.
 *
 * - `open()` loads every document; a file that cannot be read, is not JSON or fails the
 *   schema is reported by file name with the field-level message (`errors`) and never stops
 *   the other VMs from loading.
 * - Every write is atomic (see atomic-file.ts); mutations are serialized so concurrent
 *   callers cannot both claim the same name.
 * - Disk images are deleted only when the caller lists them explicitly and only if they
 *   belong to the VM's disk drives.
 * - Listeners hear every change (`changed` with the new config, `removed` with the id).
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  ApiError, VM_CONFIG_VERSION, VmConfig, VmConfigDraft, describeZodError, parseVmConfig,
  type LibraryError,
} from '../../protocol/index.js';
import { isAtomicTempFile, writeFileAtomic, type AtomicFileOps } from './atomic-file.js';

/** A change in the library, as delivered to listeners. */
export type LibraryChange =
  | { kind: 'changed'; config: VmConfig }
  | { kind: 'removed'; id: string };

/** Outcome of {@link VmLibrary.delete}. */
export interface DeleteOutcome {
  /** Drive images that were deleted. */
  deletedFiles: string[];
  /** Drive images that were listed but could not be deleted, with the reason. */
  failedFiles: { file: string; error: string }[];
}

/** Options for {@link VmLibrary.open}. */
export interface VmLibraryOptions {
  /** The app data directory; VM documents live in its `vms/` subdirectory. */
  dataDir: string;
  /** Clock for `createdAt` (defaults to the wall clock). */
  now?: () => Date;
  /** File-system overrides for fault-injection tests. */
  fileOps?: Partial<AtomicFileOps>;
}

/** Collation for the case-insensitive name uniqueness rule. */
function nameKey(name: string): string {
  return name.trim().toLocaleLowerCase('en-US');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The set of VM documents in a data directory. Create with {@link VmLibrary.open}. */
export class VmLibrary {
  /** Directory holding the `<id>.json` documents. */
  readonly vmsDir: string;
  private readonly vms = new Map<string, VmConfig>();
  private loadErrors: LibraryError[] = [];
  private readonly listeners = new Set<(change: LibraryChange) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => Date;
  private readonly fileOps: Partial<AtomicFileOps> | undefined;

  private constructor(options: VmLibraryOptions) {
    this.vmsDir = path.join(path.resolve(options.dataDir), 'vms');
    this.now = options.now ?? (() => new Date());
    this.fileOps = options.fileOps;
  }

  /** Opens (creating if needed) the library in `options.dataDir` and loads every VM document. */
  static async open(options: VmLibraryOptions): Promise<VmLibrary> {
    const lib = new VmLibrary(options);
    await fsp.mkdir(lib.vmsDir, { recursive: true });
    await lib.reload();
    return lib;
  }

  /** Re-reads every document from disk, replacing the in-memory state (no events). */
  async reload(): Promise<void> {
    const names = (await fsp.readdir(this.vmsDir)).filter((n) => n.endsWith('.json') && !isAtomicTempFile(n)).sort();
    const vms = new Map<string, VmConfig>();
    const errors: LibraryError[] = [];
    for (const name of names) {
      const file = path.join(this.vmsDir, name);
      const result = await this.loadOne(file, name);
      if (result.ok) vms.set(result.value.id, result.value);
      else errors.push({ file, error: result.error });
    }
    this.vms.clear();
    for (const [id, vm] of vms) this.vms.set(id, vm);
    this.loadErrors = errors;
  }

  private async loadOne(file: string, name: string): Promise<{ ok: true; value: VmConfig } | { ok: false; error: string }> {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      return { ok: false, error: `cannot read: ${errorText(err)}` };
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return { ok: false, error: `not valid JSON: ${errorText(err)}` };
    }
    const parsed = parseVmConfig(doc);
    if (!parsed.ok) return parsed;
    const expected = `${parsed.value.id}.json`;
    if (name !== expected) {
      return { ok: false, error: `id: "${parsed.value.id}" does not match the file name (expected ${expected})` };
    }
    return parsed;
  }

  /** Every loaded VM, sorted by name, and every file that failed to load. */
  list(): { vms: VmConfig[]; errors: LibraryError[] } {
    const vms = [...this.vms.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return { vms, errors: [...this.loadErrors] };
  }

  /** The VM with `id`; throws ApiError('not-found') if there is none. */
  get(id: string): VmConfig {
    const vm = this.vms.get(id);
    if (!vm) throw new ApiError('not-found', `id: no VM with id "${id}"`);
    return vm;
  }

  /** Path of the document for VM `id`. */
  fileOf(id: string): string {
    return path.join(this.vmsDir, `${id}.json`);
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  on(listener: (change: LibraryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Creates a VM from an untrusted draft: validates it (errors name the field), assigns
   * id, version and createdAt, refuses a name already taken (case-insensitively), writes it.
   */
  create(draft: unknown): Promise<VmConfig> {
    return this.serialize(async () => {
      const parsedDraft = VmConfigDraft.safeParse(draft);
      if (!parsedDraft.success) throw new ApiError('bad-request', describeZodError(parsedDraft.error));
      this.assertNameFree(parsedDraft.data.name, null);
      const candidate = {
        ...parsedDraft.data,
        version: VM_CONFIG_VERSION,
        id: randomUUID(),
        createdAt: this.now().toISOString(),
      };
      const parsed = VmConfig.safeParse(candidate);
      if (!parsed.success) throw new ApiError('bad-request', describeZodError(parsed.error));
      await this.write(parsed.data);
      this.vms.set(parsed.data.id, parsed.data);
      this.emit({ kind: 'changed', config: parsed.data });
      return parsed.data;
    });
  }

  /**
   * Replaces the configuration of VM `id`. The id must match, the name must stay unique;
   * `createdAt` is kept from the stored document.
   */
  update(id: string, config: unknown): Promise<VmConfig> {
    return this.serialize(async () => {
      const existing = this.get(id);
      const parsed = VmConfig.safeParse(config);
      if (!parsed.success) throw new ApiError('bad-request', describeZodError(parsed.error));
      if (parsed.data.id !== id) {
        throw new ApiError('bad-request', `config.id: "${parsed.data.id}" does not match the VM being updated ("${id}")`);
      }
      this.assertNameFree(parsed.data.name, id);
      const next: VmConfig = { ...parsed.data, createdAt: existing.createdAt };
      await this.write(next);
      this.vms.set(id, next);
      this.emit({ kind: 'changed', config: next });
      return next;
    });
  }

  /**
   * Deletes VM `id`'s document. Drive images are deleted only if listed in
   * `deleteDrivePaths`, and every listed path must be one of the VM's disk drives (install
   * media on CD-ROM drives are never deleted); otherwise nothing is deleted at all.
   */
  delete(id: string, deleteDrivePaths: readonly string[] = []): Promise<DeleteOutcome> {
    return this.serialize(async () => {
      const vm = this.get(id);
      const own = new Set(vm.drives.filter((d) => d.kind === 'disk' && d.path !== '').map((d) => path.resolve(d.path)));
      const toDelete: string[] = [];
      for (const [i, p] of deleteDrivePaths.entries()) {
        const resolved = path.resolve(p);
        if (!own.has(resolved)) {
          throw new ApiError('bad-request',
            `deleteDrivePaths.${i}: "${p}" is not a disk image of VM "${vm.name}"; only its disk drives can be deleted`);
        }
        if (!toDelete.includes(resolved)) toDelete.push(resolved);
      }
      await fsp.rm(this.fileOf(id), { force: true });
      this.vms.delete(id);
      const outcome: DeleteOutcome = { deletedFiles: [], failedFiles: [] };
      for (const file of toDelete) {
        try {
          await fsp.unlink(file);
          outcome.deletedFiles.push(file);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT') outcome.failedFiles.push({ file, error: errorText(err) });
        }
      }
      this.emit({ kind: 'removed', id });
      return outcome;
    });
  }

  /** Throws ApiError('conflict') if a VM (other than `selfId`) has `name`, case-insensitively. */
  assertNameAvailable(name: string, selfId: string | null = null): void {
    this.assertNameFree(name, selfId);
  }

  private assertNameFree(name: string, selfId: string | null): void {
    const key = nameKey(name);
    for (const vm of this.vms.values()) {
      if (vm.id !== selfId && nameKey(vm.name) === key) {
        throw new ApiError('conflict', `name: a VM named "${vm.name}" already exists`);
      }
    }
  }

  private async write(config: VmConfig): Promise<void> {
    const opts = this.fileOps ? { ops: this.fileOps } : {};
    await writeFileAtomic(this.fileOf(config.id), `${JSON.stringify(config, null, 2)}\n`, opts);
  }

  private emit(change: LibraryChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch {
        // A failing listener must not break the library or other listeners.
      }
    }
  }

  /** Runs mutations one at a time, in call order. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
