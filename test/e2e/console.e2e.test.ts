/**
 * End to end through the browser shell: the guest's screen live in the console (noVNC
 * over `/vm/<id>/vnc` to the worker's RFB server), on the real emulator (SeaBIOS).
 * - the noVNC canvas shows the emulator's own framebuffer (its pixels equal the decoded
 *   `vm.screenshot` PNG, read with getImageData, not a screenshot of a screenshot);
 * - Send key > Ctrl+Alt+Del restarts the guest (SeaBIOS clears the screen and shows its
 *   banner again, long before its own 60 s "No bootable device" retry);
 * - a malformed RFB message on a second connection closes only that connection: the VM
 *   keeps running, the page's viewer and a third viewer stay connected.
 * Needs `npm run build` first.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RfbMiniClient, rgbaDiff } from '../../main/host/test-support/rfb-mini-client.js';
import { chromiumSkipReason, collectPageErrors, launchChromium } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/start-server.js';
import { closeE2e } from '../support/e2e-teardown.js';
import { apiCall, apiResult } from '../support/api-call.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`console e2e skipped: ${skipReason}`);


/** The noVNC canvas's pixels (RGBA, base64) as the page has them. */
async function canvasPixels(page: Page, label: string): Promise<{ width: number; height: number; data: Uint8Array } | null> {
  const got = await page.evaluate((aria) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`[aria-label="${aria}"] canvas`);
    if (!canvas || canvas.width === 0) return null;
    const ctx = canvas.getContext('2d');
    if (!ctx) return null;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let bin = '';
    for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: canvas.width, height: canvas.height, b64: btoa(bin) };
  }, label);
  if (!got) return null;
  return { width: got.width, height: got.height, data: new Uint8Array(Buffer.from(got.b64, 'base64')) };
}

/** An RFB viewer over the server's WebSocket, from outside the page. */
async function wsViewer(server: ServerProcess, id: string): Promise<{ ws: WebSocket; client: RfbMiniClient }> {
  const ws = new WebSocket(`${server.origin.replace(/^http/, 'ws')}/vm/${id}/vnc?token=${server.token}`, ['binary'], { headers: { Origin: server.origin } });
  const client = new RfbMiniClient((bytes) => ws.send(bytes));
  ws.on('message', (data) => client.push(new Uint8Array(data as Buffer)));
  ws.on('close', (code, reason) => client.closed(`${code} ${reason.toString()}`));
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return { ws, client };
}

describe.skipIf(skipReason !== null)('the guest screen in the console', () => {
  let browser: Browser;
  let dataDir: string;
  let server: ServerProcess;
  let page: Page;
  let id: string;
  const errors: string[] = [];
  const name = 'Screen VM';
  const label = `Screen of ${name}`;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-e2e-console-'));
    server = await startServerProcess(dataDir);
    browser = await launchChromium();
    page = await browser.newPage();
    collectPageErrors(page, errors);
  });

  afterAll(() => closeE2e({ page, browser, server, dataDir }));

  const screenText = async (): Promise<string> => {
    const r = await apiCall(server, 'vm.screenText', { id });
    return r.ok ? (r.result as { text: string }).text : '';
  };

  it('shows the SeaBIOS screen in the noVNC canvas, pixel for pixel', async () => {
    const entry = await apiResult<{ config: { id: string } }>(server, 'vm.create', {
      draft: { name, os: { id: 'other', name: 'Other' }, cpus: 1, memoryMiB: 64 },
    });
    id = entry.config.id;
    await page.goto(server.url);
    await page.getByRole('option', { name: new RegExp(name) }).click();
    await page.getByRole('toolbar').getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => page.getByRole('article').locator('.details-header .state').textContent(), { timeout: 60_000 }).toBe('Running');

    await page.getByRole('tab', { name: 'Console' }).click();
    await page.getByText('Screen: connected').waitFor({ timeout: 30_000 });
    await page.getByText('Click the screen to type into the guest').waitFor();
    await expect.poll(screenText, { timeout: 60_000, interval: 1000 }).toContain('SeaBIOS');

    let last = 'nothing compared yet';
    await expect.poll(async () => {
      const shown = await canvasPixels(page, label);
      const png = PNG.sync.read(Buffer.from((await apiResult<{ pngBase64: string }>(server, 'vm.screenshot', { id })).pngBase64, 'base64'));
      if (!shown) { last = 'no canvas'; return false; }
      if (shown.width !== png.width || shown.height !== png.height) {
        last = `canvas ${shown.width}x${shown.height}, screenshot ${png.width}x${png.height}`;
        return false;
      }
      const diff = rgbaDiff(shown.data, png.data);
      last = `${diff} pixels differ`;
      return diff === 0;
    }, { timeout: 60_000, interval: 500, message: `canvas vs screenshot: ${last}` }).toBe(true);
    const shown = await canvasPixels(page, label);
    let lit = 0;
    for (let i = 0; i < (shown?.data.length ?? 0); i += 4) if (shown!.data[i]! + shown!.data[i + 1]! + shown!.data[i + 2]! > 0) lit++;
    expect(lit).toBeGreaterThan(100);
  });

  it('restarts the guest with Send key > Ctrl+Alt+Del', async () => {
    await expect.poll(screenText, { timeout: 90_000, interval: 500 }).toContain('No bootable device');
    await page.getByRole('button', { name: 'Send key' }).click();
    await page.getByRole('menuitem', { name: 'Ctrl+Alt+Del' }).click();
    // The firmware starts over: the failure message goes away, then the banner is back.
    await expect.poll(screenText, { timeout: 30_000, interval: 100 }).not.toContain('No bootable device');
    await expect.poll(screenText, { timeout: 30_000, interval: 500 }).toContain('SeaBIOS');
    expect(await page.getByRole('article').locator('.details-header .state').textContent()).toBe('Running');
    await page.getByText('Screen: connected').waitFor();
  });

  it('closes only the connection that sent a malformed RFB message', async () => {
    const good = await wsViewer(server, id);
    await good.client.handshake();
    const bad = await wsViewer(server, id);
    await bad.client.handshake();
    bad.ws.send(Uint8Array.of(0x42, 0, 0, 0)); // no such client message type
    await expect.poll(() => bad.client.closeReason, { timeout: 20_000 }).not.toBeNull();

    expect(await page.getByRole('article').locator('.details-header .state').textContent()).toBe('Running');
    good.client.requestUpdate(false);
    expect(await good.client.readUpdate()).toBeGreaterThan(0);
    expect(good.client.closeReason).toBeNull();
    expect(await page.getByText('Screen: connected').count()).toBe(1);
    // The page's viewer still follows the screen.
    await expect.poll(async () => {
      const shown = await canvasPixels(page, label);
      const png = PNG.sync.read(Buffer.from((await apiResult<{ pngBase64: string }>(server, 'vm.screenshot', { id })).pngBase64, 'base64'));
      return shown !== null && rgbaDiff(shown.data, png.data) === 0;
    }, { timeout: 60_000, interval: 500 }).toBe(true);
    good.ws.close();
    expect(errors.filter((e) => !/favicon/.test(e))).toEqual([]);
  });
});
