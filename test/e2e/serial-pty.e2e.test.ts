/**
 * End to end through the browser shell: the serial port as a host pseudo-terminal. The
 * Serial port tab turns `serial.pty` on; a running VM shows "Serial: /dev/pts/N" with a copy
 * button; the path is a terminal device on this host while the VM runs and is gone after
 * Force off. Needs `npm run build` first; Linux/macOS hosts.
 */
import { closeSync, constants as fsConstants, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, collectPageErrors, launchChromium } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/start-server.js';
import { closeE2e } from '../support/e2e-teardown.js';
import { apiResult } from '../support/api-call.js';

const skipReason = chromiumSkipReason() ?? (process.platform === 'win32' ? 'no pseudo-terminals on Windows hosts' : null);
if (skipReason) console.warn(`serial pty e2e skipped: ${skipReason}`);


describe.skipIf(skipReason !== null)('the serial port as a host pseudo-terminal in the details view', () => {
  let browser: Browser;
  let context: BrowserContext;
  let dataDir: string;
  let server: ServerProcess;
  let page: Page;
  let vmId: string;
  const errors: string[] = [];
  const name = 'Pty VM';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-e2e-pty-'));
    server = await startServerProcess(dataDir);
    const entry = await apiResult<{ config: { id: string } }>(server, 'vm.create', {
      draft: {
        name, os: { id: 'generic', name: 'Generic' }, cpus: 1, memoryMiB: 64, network: { mode: 'none', model: 'virtio' },
        drives: [{ id: 'cd0', kind: 'cdrom', path: '', format: 'iso', readOnly: true }],
      },
    });
    vmId = entry.config.id;
    browser = await launchChromium();
    context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    page = await context.newPage();
    collectPageErrors(page, errors);
  });

  afterAll(() => closeE2e({ page, context, browser, server, dataDir }));

  const details = () => page.getByRole('article');
  const badge = (): Promise<string | null> => details().locator('.details-header .state').textContent();
  const toolbarButton = (label: string) => page.getByRole('toolbar').getByRole('button', { name: label, exact: true });

  it('turns the setting on in the Serial port tab', async () => {
    await page.goto(server.url);
    await page.getByRole('option').filter({ has: page.locator('.vm-name', { hasText: name }) }).click();
    await details().getByRole('heading', { name, exact: true }).waitFor({ timeout: 30_000 });
    await page.getByRole('tab', { name: 'Serial port' }).click();
    const toggle = details().getByLabel('Serial port (COM1) as a host pseudo-terminal');
    expect(await toggle.isChecked()).toBe(false);
    await toggle.check();
    await details().getByRole('button', { name: 'Save' }).click();
    await page.getByText(`Saved ${name}.`).waitFor({ timeout: 30_000 });
    const stored = JSON.parse(await readFile(path.join(dataDir, 'vms', `${vmId}.json`), 'utf8')) as { serial?: { pty: boolean } };
    expect(stored.serial).toEqual({ pty: true });
  });

  it('shows "Serial: /dev/pts/N" with a copy button while running; the path is gone after Force off', async () => {
    expect(await details().locator('.serial-pty').count()).toBe(0);
    await toolbarButton('Start').click();
    await expect.poll(badge, { timeout: 60_000 }).toBe('Running');
    const line = details().getByLabel('Serial pseudo-terminal');
    await line.waitFor({ timeout: 30_000 });
    expect(await line.textContent()).toMatch(/^Serial: \/dev\/(pts\/\d+|ttys\d+)/);
    const ptyPath = (await line.locator('code').textContent()) ?? '';
    // It is this host's terminal device, usable by a program while the VM runs.
    expect(existsSync(ptyPath)).toBe(true);
    const fd = openSync(ptyPath, fsConstants.O_RDWR | fsConstants.O_NOCTTY | fsConstants.O_NONBLOCK);
    expect(tty.isatty(fd)).toBe(true);
    closeSync(fd);
    // The API reports the same path.
    const entry = await apiResult<{ serialPty?: { path?: string } }>(server, 'vm.get', { id: vmId });
    expect(entry.serialPty).toEqual({ path: ptyPath });

    await line.getByRole('button', { name: `Copy ${ptyPath}` }).click();
    await page.getByText(`Copied ${ptyPath}.`).waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(ptyPath);

    await toolbarButton('Force off').click();
    await expect.poll(badge, { timeout: 30_000 }).toBe('Stopped');
    await expect.poll(() => details().locator('.serial-pty').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => existsSync(ptyPath), { timeout: 10_000 }).toBe(false);
  }, 120_000);

  it('logged no page errors', () => {
    expect(errors).toEqual([]);
  });
});
