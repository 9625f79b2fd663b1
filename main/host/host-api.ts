/**
 * The host API over the VM library and the VM supervisor: one handler per method of
 * protocol/api.ts, a transport-independent dispatcher (`handleMessage`) and an event
 * fan-out. Both shells (Electron IPC, the browser server's WebSocket) hand every incoming
 * message to `handleMessage` and forward every event from `onEvent`. Serial consoles are
 * byte streams, not API messages: each shell carries them its own way (`openSerial`).
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  ApiError, CallMessage, apiEvents, apiMethods, describeZodError, isApiMethod,
  type ApiEvent, type ApiEventPayload, type ApiHandlers, type ApiMethod, type EventMessage,
  type HostInfo, type ResultMessage, type VmConfig, type VmEntry,
} from '../../protocol/index.js';
import { createDisk } from '../../emulator/index.js';
import { DownloadManager } from './downloads.js';
import { FileRoots } from './files.js';
import { NotIsoError, inspectIso, listPresets, loadOsinfo } from './os-detect/index.js';
import { changedFields, mediaChanges } from './media-change.js';
import { cloneDiskTargets, copyImages } from './vm-clone.js';
import type { VmLibrary } from './vm-library.js';
import {
  VmSupervisor, type SerialHandlers, type SerialSession, type VncHandlers, type VncSession,
} from './vm-supervisor.js';

/** A native file picker (the Electron shell provides one; the server shell has none). */
export interface DialogProvider {
  /** Shows an open-file dialog; resolves to the chosen path or null if cancelled. */
  openFile(options: { title?: string; extensions?: string[] }): Promise<string | null>;
}

/** Options for {@link createHostApi}. */
export interface HostApiOptions {
  /** The VM library the API serves. */
  library: VmLibrary;
  /** Which shell hosts the API (reported by host.info). */
  shell: HostInfo['shell'];
  /** Vireo's version (reported by host.info). */
  version: string;
  /** Native dialogs; without one, dialog.* methods fail with 'unsupported'. */
  dialog?: DialogProvider;
  /**
   * Runs the VMs. Default: a supervisor with the emulator's worker, owned (and closed) by
   * the API. A supervisor passed in is the caller's to close.
   */
  supervisor?: VmSupervisor;
  /** Enables test-only methods (`test.*`); default: `VIREO_TEST_HOOKS=1` in the environment. */
  testHooks?: boolean;
  /**
   * Folders files.list may show (and, in the server shell, the only places iso.inspect,
   * disk.create and download.start may touch). Default: home, the data directory and
   * `VIREO_FILE_ROOTS`.
   */
  fileRoots?: FileRoots;
  /** osinfo-db directory for OS detection (default /usr/share/osinfo); null: presets only. */
  osinfoDir?: string | null;
}

/** The host API: handlers, the dispatcher and the event stream. */
export interface HostApi {
  /** One handler per method; params are already validated. */
  readonly handlers: ApiHandlers;
  /**
   * Validates an untrusted call message and its params, runs the handler and returns the
   * answer. Never throws: every failure becomes an `ok: false` result naming the problem.
   */
  handleMessage(raw: unknown): Promise<ResultMessage>;
  /** Subscribes to every event the host emits (already shaped as wire messages). */
  onEvent(listener: (message: EventMessage) => void): () => void;
  /** The supervisor running the VMs. */
  readonly supervisor: VmSupervisor;
  /**
   * Opens the serial console of VM `id` (throws ApiError 'not-found' for an unknown VM):
   * the history, then live bytes; `write` types into the guest.
   */
  openSerial(id: string, handlers: SerialHandlers): SerialSession;
  /**
   * Opens a screen viewer (RFB bytes both ways) on VM `id`: ApiError 'not-found' for an
   * unknown VM, 'conflict' unless it is running or paused.
   */
  openVnc(id: string, handlers: VncHandlers): VncSession;
  /** Stops every VM (when the API owns the supervisor) and detaches; resolves when done. */
  close(): Promise<void>;
  /** Detaches from the library; listeners hear nothing afterwards. */
  dispose(): void;
}

/** Prefixes every issue path of a zod error with `prefix` ("params.draft.name: ..."). */
function describeWithPrefix(err: z.ZodError, prefix: string): string {
  return err.issues
    .map((i) => `${[prefix, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ');
}

/** Creates the host API over `options.library`. */
export function createHostApi(options: HostApiOptions): HostApi {
  const { library } = options;
  const listeners = new Set<(message: EventMessage) => void>();
  const describeVm = (id: string): string => {
    try {
      return `VM "${library.get(id).name}"`;
    } catch {
      return `VM ${id}`;
    }
  };
  const ownsSupervisor = options.supervisor === undefined;
  const testHooks = options.testHooks ?? process.env['VIREO_TEST_HOOKS'] === '1';
  // Test hook: a short ACPI shutdown timeout, so end-to-end tests need not wait a minute.
  const shutdownOverride = testHooks ? Number(process.env['VIREO_TEST_SHUTDOWN_TIMEOUT_MS'] ?? NaN) : NaN;
  const supervisor = options.supervisor ?? new VmSupervisor({
    describeVm, ...(Number.isFinite(shutdownOverride) && shutdownOverride > 0 ? { shutdownTimeoutMs: shutdownOverride } : {}),
  });
  const dataDir = path.dirname(library.vmsDir);
  const fileRoots = options.fileRoots ?? FileRoots.defaults(dataDir);
  /** The browser shell confines every path it is given; the desktop app trusts its user's choices. */
  const confineAll = options.shell === 'server';
  const confined = (p: string, field: string, mayNotExist = false): Promise<string> =>
    confineAll ? fileRoots.confine(p, field, { mayNotExist }) : Promise.resolve(path.resolve(p));
  const downloads = new DownloadManager({
    onEvent: (e) => {
      if (e.kind === 'progress') emit('download.progress', e.payload);
      else if (e.kind === 'done') emit('download.done', e.payload);
      else emit('download.failed', e.payload);
    },
  });

  function entryOf(config: VmConfig): VmEntry {
    const backendInUse = supervisor.backendInUseOf(config.id);
    const backendReason = supervisor.backendReasonOf(config.id);
    const serialPty = supervisor.serialPtyOf(config.id);
    return {
      config, ...supervisor.stateOf(config.id), ...(backendInUse ? { backendInUse } : {}), ...(backendReason ? { backendReason } : {}),
      ...(serialPty ? { serialPty } : {}),
    };
  }

  /** Refuses to change a VM that has a worker. */
  function assertNotActive(id: string, action: string): void {
    const { state } = supervisor.stateOf(id);
    if (supervisor.isActive(id)) {
      throw new ApiError('conflict', `id: ${describeVm(id)} is ${state}; shut it down before ${action} it`);
    }
  }

  /** Runs a lifecycle action on VM `id`, then answers with its entry. */
  async function act(id: string, fn: (id: string) => Promise<void>): Promise<VmEntry> {
    library.get(id); // not-found for unknown VMs
    await fn(id);
    return entryOf(library.get(id));
  }

  function emit<E extends ApiEvent>(event: E, payload: ApiEventPayload<E>): void {
    const checked = apiEvents[event].safeParse(payload);
    if (!checked.success) {
      // A host bug: never send an event the clients would reject.
      console.error(`vireo: refusing to emit invalid ${event} event: ${describeZodError(checked.error)}`);
      return;
    }
    const message: EventMessage = { kind: 'event', event, payload: checked.data };
    for (const l of [...listeners]) {
      try {
        l(message);
      } catch (err) {
        console.error(`vireo: event listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  const unsubscribeLibrary = library.on((change) => {
    if (change.kind === 'changed') emit('vm.changed', entryOf(change.config));
    else {
      supervisor.forget(change.id);
      emit('vm.removed', { id: change.id });
    }
  });
  const unsubscribeSupervisor = supervisor.on((e) => {
    if (e.kind === 'stats') {
      emit('vm.stats', e.stats);
      return;
    }
    let config: VmConfig;
    try {
      config = library.get(e.id);
    } catch {
      return; // deleted meanwhile
    }
    emit('vm.changed', entryOf(config));
  });

  const handlers: ApiHandlers = {
    'host.info': async () => ({
      platform: process.platform,
      cpus: os.cpus().length,
      memoryBytes: os.totalmem(),
      shell: options.shell,
      version: options.version,
    }),
    'vm.list': async () => {
      const { vms, errors } = library.list();
      return { vms: vms.map(entryOf), errors };
    },
    'vm.get': async ({ id }) => entryOf(library.get(id)),
    'vm.create': async ({ draft }) => entryOf(await library.create(draft)),
    'vm.update': async ({ id, config }) => {
      const current = library.get(id);
      if (supervisor.isActive(id)) {
        const { state } = supervisor.stateOf(id);
        const changes = mediaChanges(current, config);
        if (changes === null) {
          throw new ApiError('conflict',
            `${changedFields(current, config).join(', ')}: ${describeVm(id)} is ${state}; only CD-ROM media can change while it runs; shut it down to apply the other changes`);
        }
        if (state !== 'running' && state !== 'paused') {
          throw new ApiError('conflict', `id: ${describeVm(id)} is ${state}; wait until it runs or has stopped to change the CD-ROM`);
        }
        for (const c of changes) await supervisor.changeCdrom(id, c.slot, c.path);
      }
      return entryOf(await library.update(id, config));
    },
    'vm.clone': async ({ id, name, copyDisks }) => {
      const source = library.get(id);
      library.assertNameAvailable(name);
      if (copyDisks) assertNotActive(id, 'copying the disks of');
      const targets = copyDisks ? cloneDiskTargets(source, name) : new Map<string, { from: string; to: string }>();
      const pairs: { from: string; to: string }[] = [];
      for (const t of targets.values()) {
        t.to = await confined(t.to, 'copyDisks', true);
        pairs.push(t);
      }
      await copyImages(pairs);
      const { version: _v, id: _id, createdAt: _c, ...settings } = source;
      try {
        const drives = source.drives.map((d) => {
          const t = targets.get(d.id);
          return t ? { ...d, path: t.to } : d;
        });
        const entry = entryOf(await library.create({ ...settings, name, drives }));
        return { entry, copiedFiles: [...targets.values()] };
      } catch (err) {
        await Promise.all(pairs.map((p) => rm(p.to, { force: true })));
        throw err;
      }
    },
    'vm.delete': async ({ id, deleteDrivePaths }) => {
      library.get(id);
      assertNotActive(id, 'deleting');
      const outcome = await library.delete(id, deleteDrivePaths);
      return outcome.failedFiles.length > 0 ? outcome : { deletedFiles: outcome.deletedFiles };
    },
    'vm.start': async ({ id }) => act(id, () => supervisor.start(library.get(id))),
    'vm.stop': async ({ id }) => act(id, (i) => supervisor.stop(i)),
    // A guest that ignores the power button is not an error: the entry says so (stateReason).
    'vm.shutdown': async ({ id }) => act(id, async (i) => { await supervisor.shutdown(i); }),
    'vm.forceOff': async ({ id }) => act(id, (i) => supervisor.forceOff(i)),
    'vm.pause': async ({ id }) => act(id, (i) => supervisor.pause(i)),
    'vm.resume': async ({ id }) => act(id, (i) => supervisor.resume(i)),
    'vm.reset': async ({ id }) => act(id, (i) => supervisor.reset(i)),
    'vm.sendKeys': async ({ id, keys }) => {
      library.get(id);
      await supervisor.sendKeys(id, keys);
      return {};
    },
    'vm.screenshot': async ({ id }) => {
      library.get(id);
      const png = await supervisor.screenshot(id);
      return { pngBase64: Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64') };
    },
    'vm.screenText': async ({ id }) => {
      library.get(id);
      return { text: await supervisor.screenText(id) };
    },
    'test.killWorker': async ({ id }) => {
      if (!testHooks) throw new ApiError('unsupported', 'test.killWorker: test hooks are off (start the host with VIREO_TEST_HOOKS=1)');
      library.get(id);
      supervisor.killWorkerForTest(id);
      return {};
    },
    'iso.inspect': async ({ path: isoPath }) => {
      if (!path.isAbsolute(isoPath)) throw new ApiError('bad-request', `path: "${isoPath}" is not an absolute path`);
      const real = await confined(isoPath, 'path');
      if (!existsSync(real)) throw new ApiError('not-found', `path: ${isoPath} does not exist`);
      try {
        return { ...(await inspectIso(real, { osinfoDir: options.osinfoDir })), path: isoPath };
      } catch (err) {
        if (err instanceof NotIsoError) throw new ApiError('bad-request', `path: ${err.message}`);
        throw err;
      }
    },
    'os.presets': async () => ({
      presets: listPresets(),
      osinfo: options.osinfoDir === null ? false : (await loadOsinfo(options.osinfoDir ?? undefined)) !== null,
    }),
    'host.resources': async () => ({ cpus: os.cpus().length, memoryBytes: os.totalmem(), imageDir: path.join(dataDir, 'images') }),
    'disk.create': async ({ path: diskPath, sizeBytes, format }) => {
      if (!path.isAbsolute(diskPath)) throw new ApiError('bad-request', `path: "${diskPath}" is not an absolute path`);
      const real = await confined(diskPath, 'path', true);
      if (existsSync(real)) throw new ApiError('conflict', `path: ${diskPath} already exists; Vireo never overwrites a disk image`);
      await mkdir(path.dirname(real), { recursive: true });
      try {
        await createDisk(real, sizeBytes, format);
      } catch (err) {
        throw new ApiError('bad-request', `path: cannot create ${diskPath}: ${err instanceof Error ? err.message : String(err)}`);
      }
      return { path: diskPath, sizeBytes, format };
    },
    'download.start': async ({ url, destDir }) => {
      const real = await confined(destDir, 'destDir', true);
      await mkdir(real, { recursive: true });
      try {
        return downloads.start({ url, destDir: real });
      } catch (err) {
        throw new ApiError('bad-request', err instanceof Error ? err.message : String(err));
      }
    },
    'download.cancel': async ({ id }) => {
      if (!downloads.cancel(id)) throw new ApiError('not-found', `id: no running download ${id}`);
      return {};
    },
    'files.list': async ({ dir }) => fileRoots.list(dir),
    'dialog.openFile': async (params) => {
      if (!options.dialog) {
        throw new ApiError('unsupported',
          'dialog.openFile: native file dialogs are only available in the desktop app; type the path instead');
      }
      return { path: await options.dialog.openFile(params) };
    },
  };

  async function dispatch<M extends ApiMethod>(method: M, rawParams: unknown): Promise<unknown> {
    const spec = apiMethods[method];
    const params = spec.params.safeParse(rawParams ?? {});
    if (!params.success) throw new ApiError('bad-request', describeWithPrefix(params.error, 'params'));
    const handler = handlers[method] as (p: unknown) => Promise<unknown>;
    const result = await handler(params.data);
    const checked = spec.result.safeParse(result);
    if (!checked.success) {
      throw new ApiError('internal', `${method}: the host produced an invalid result (${describeZodError(checked.error)})`);
    }
    return checked.data;
  }

  async function handleMessage(raw: unknown): Promise<ResultMessage> {
    const rawId = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['id'] : undefined;
    const fallbackId = typeof rawId === 'number' && Number.isInteger(rawId) ? rawId : -1;
    const call = CallMessage.safeParse(raw);
    if (!call.success) {
      return fail(fallbackId, 'bad-request', `invalid call message: ${describeWithPrefix(call.error, 'message')}`);
    }
    const { id, method, params } = call.data;
    if (!isApiMethod(method)) {
      return fail(id, 'bad-request', `method: unknown method "${method}"; known: ${Object.keys(apiMethods).join(', ')}`);
    }
    try {
      return { kind: 'result', id, ok: true, result: await dispatch(method, params) };
    } catch (err) {
      if (err instanceof ApiError) return fail(id, err.code, err.message);
      const message = err instanceof Error ? err.message : String(err);
      return fail(id, 'internal', `${method}: ${message}`);
    }
  }

  function dispose(): void {
    downloads.closeAll();
    unsubscribeLibrary();
    unsubscribeSupervisor();
    listeners.clear();
  }

  return {
    handlers,
    handleMessage,
    supervisor,
    openSerial(id, serialHandlers) {
      library.get(id);
      return supervisor.openSerial(id, serialHandlers);
    },
    openVnc(id, vncHandlers) {
      library.get(id);
      return supervisor.openVnc(id, vncHandlers);
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (ownsSupervisor) await supervisor.close();
      dispose();
    },
    dispose() {
      dispose();
      if (ownsSupervisor) void supervisor.close();
    },
  };
}

function fail(id: number, code: ApiError['code'], message: string): ResultMessage {
  return { kind: 'result', id, ok: false, error: { code, message } };
}
