/**
 * The desktop shell: one BrowserWindow showing dist/renderer/index.html, the host API on
 * one IPC channel (`vireo:call`, handled by the same dispatcher as the browser shell) and
 * host events forwarded on `vireo:event`. Deliberately thin: everything else lives in
 * main/host/ so the browser shell and its tests exercise it.
 *
 * Renderer hardening: contextIsolation, sandbox, no Node integration, no navigation away
 * from the app, no new windows, IPC accepted only from our own page.
 */
import { BrowserWindow, Menu, MessageChannelMain, app, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ApiError, IPC_CHANNELS, SerialOpenRequest, VncOpenRequest, describeZodError, type SerialOpenAnswer, type VncOpenAnswer,
} from '../../protocol/index.js';
import { resolveDataDir } from '../host/data-dir.js';
import { createHostApi, type DialogProvider, type HostApi } from '../host/host-api.js';
import { VmLibrary } from '../host/vm-library.js';
import { vireoVersion } from '../host/version.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const indexHtml = path.resolve(here, '../../renderer/index.html');
const preloadPath = path.join(here, 'preload.cjs');

/** Native open-file dialog for `dialog.openFile`, parented to the focused window. */
const nativeDialogs: DialogProvider = {
  async openFile(options) {
    const parent = BrowserWindow.getFocusedWindow();
    const dialogOptions: Electron.OpenDialogOptions = {
      title: options.title ?? 'Open file',
      properties: ['openFile'],
      filters: options.extensions && options.extensions.length > 0
        ? [{ name: options.extensions.join(', '), extensions: options.extensions }, { name: 'All files', extensions: ['*'] }]
        : [],
    };
    const result = parent ? await dialog.showOpenDialog(parent, dialogOptions) : await dialog.showOpenDialog(dialogOptions);
    return result.canceled ? null : result.filePaths[0] ?? null;
  },
};

/** True if an IPC message comes from our own renderer page (not from a navigated or foreign frame). */
function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const url = event.senderFrame?.url;
  return url !== undefined && url.startsWith(pathToFileURL(indexHtml).href);
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1100,
    height: 720,
    title: 'Vireo',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (event) => event.preventDefault());
  win.once('ready-to-show', () => win.show());
  void win.loadFile(indexHtml);
  return win;
}

function installMenu(): void {
  const template: Electron.MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { label: 'File', submenu: [{ role: 'quit' }] },
    { role: 'editMenu' },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }] },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function start(): Promise<void> {
  const library = await VmLibrary.open({ dataDir: resolveDataDir({ argv: process.argv.slice(1) }) });
  for (const e of library.list().errors) console.error(`Vireo: could not load ${e.file}: ${e.error}`);
  const api: HostApi = createHostApi({ library, shell: 'electron', version: vireoVersion(), dialog: nativeDialogs });

  ipcMain.handle(IPC_CHANNELS.call, (event, raw: unknown) => {
    if (!isTrustedSender(event)) {
      return { kind: 'result', id: -1, ok: false, error: { code: 'bad-request', message: 'sender: not the Vireo window' } };
    }
    return api.handleMessage(raw);
  });
  // Serial consoles: a MessagePort per console, raw bytes (Uint8Array) both ways, history first.
  ipcMain.handle(IPC_CHANNELS.serialOpen, (event, raw: unknown): SerialOpenAnswer => {
    if (!isTrustedSender(event)) return { ok: false, error: { code: 'bad-request', message: 'sender: not the Vireo window' } };
    const request = SerialOpenRequest.safeParse(raw);
    if (!request.success) return { ok: false, error: { code: 'bad-request', message: describeZodError(request.error) } };
    const { port1, port2 } = new MessageChannelMain();
    let session;
    try {
      session = api.openSerial(request.data.id, {
        onData: (bytes) => port1.postMessage(bytes),
        onClose: () => port1.close(),
      });
    } catch (err) {
      port1.close();
      if (err instanceof ApiError) return { ok: false, error: { code: err.code, message: err.message } };
      return { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
    }
    const open = session;
    port1.on('message', (e) => { if (e.data instanceof Uint8Array) open.write(e.data); });
    port1.on('close', () => open.close());
    port1.start();
    if (open.history.length > 0) port1.postMessage(open.history);
    event.sender.postMessage(IPC_CHANNELS.serialPort, { nonce: request.data.nonce }, [port2]);
    return { ok: true };
  });
  // Screens: a MessagePort per viewer, RFB bytes (Uint8Array) both ways; the server speaks first.
  ipcMain.handle(IPC_CHANNELS.vncOpen, (event, raw: unknown): VncOpenAnswer => {
    if (!isTrustedSender(event)) return { ok: false, error: { code: 'bad-request', message: 'sender: not the Vireo window' } };
    const request = VncOpenRequest.safeParse(raw);
    if (!request.success) return { ok: false, error: { code: 'bad-request', message: describeZodError(request.error) } };
    const { port1, port2 } = new MessageChannelMain();
    // Bytes the worker sends before the port is started are queued by the port itself.
    let session;
    try {
      session = api.openVnc(request.data.id, {
        onData: (bytes) => port1.postMessage(bytes),
        onClose: () => port1.close(),
      });
    } catch (err) {
      port1.close();
      if (err instanceof ApiError) return { ok: false, error: { code: err.code, message: err.message } };
      return { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
    }
    const open = session;
    port1.on('message', (e) => { if (e.data instanceof Uint8Array) open.write(e.data); });
    port1.on('close', () => open.close());
    port1.start();
    event.sender.postMessage(IPC_CHANNELS.vncPort, { nonce: request.data.nonce }, [port2]);
    return { ok: true };
  });
  api.onEvent((message) => {
    for (const win of BrowserWindow.getAllWindows()) {
      if (!win.isDestroyed()) win.webContents.send(IPC_CHANNELS.event, message);
    }
  });
  // Stop every VM before quitting (gracefully, then by force).
  let vmsStopped = false;
  app.on('will-quit', (event) => {
    if (vmsStopped) return;
    event.preventDefault();
    void api.close().finally(() => { vmsStopped = true; app.quit(); });
  });

  installMenu();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.whenReady().then(start).catch((err: unknown) => {
  dialog.showErrorBox('Vireo could not start', err instanceof Error ? err.message : String(err));
  app.exit(1);
});
