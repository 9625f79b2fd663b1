/**
 * End to end through the browser shell: the built server + the built renderer in Chromium.
 * Creates a VM through the UI, sees it listed, reloads, deletes it; checks the token gate.
 * Needs `npm run build` first (npm test does it).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, launchChromium } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/start-server.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`vm-list e2e skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('VM list in the browser shell', () => {
  let dataDir: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-e2e-'));
    server = await startServerProcess(dataDir);
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const vmFiles = async (): Promise<string[]> => {
    const dir = path.join(dataDir, 'vms');
    return existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.json')) : [];
  };

  it('refuses the page without the token (401)', async () => {
    const res = await fetch(`${server.origin}/`);
    expect(res.status).toBe(401);
    const other = await browser.newPage();
    const direct = await other.goto(`${server.origin}/`);
    expect(direct?.status()).toBe(401);
    expect(await other.textContent('body')).toMatch(/Unauthorized/);
    await other.close();
  });

  it('shows the empty state, creates a VM through the dialog and lists it', async () => {
    const res = await page.goto(server.url);
    expect(res?.status()).toBe(200);
    await page.getByRole('heading', { name: 'No virtual machines yet' }).waitFor();

    await page.getByRole('button', { name: 'New VM' }).click();
    const dialog = page.getByRole('dialog', { name: 'New virtual machine' });
    await dialog.waitFor();
    // The name field has focus; an empty submit names the field.
    await page.keyboard.press('Enter');
    await dialog.getByText('Enter a name for the VM.').waitFor();
    await dialog.getByLabel('Name').fill('E2E Debian');
    await dialog.getByLabel('Operating system').selectOption({ label: 'Alpine Linux 3.22' });
    expect(await dialog.getByLabel('Memory (MiB)').inputValue()).toBe('512');
    await dialog.getByLabel('Memory (MiB)').fill('8');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Memory (MiB) must be at least 16.').waitFor();
    await dialog.getByLabel('Memory (MiB)').fill('768');
    await dialog.getByLabel('CPUs').fill('2');
    await dialog.getByLabel('Memory (MiB)').press('Enter');
    await dialog.waitFor({ state: 'detached' });

    const item = page.getByRole('option', { name: /E2E Debian/ });
    await item.waitFor();
    expect(await item.getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => item.textContent()).toContain('Alpine Linux 3.22');
    await expect.poll(() => item.textContent()).toContain('Stopped');
    const details = page.getByRole('article');
    await details.getByRole('heading', { name: 'E2E Debian' }).waitFor();
    expect(await details.textContent()).toContain('768 MiB');
    expect(await vmFiles()).toHaveLength(1);
  });

  it('refuses a duplicate name (case-insensitive) next to the field; Escape closes the dialog', async () => {
    await page.getByRole('button', { name: 'New VM' }).click();
    const dialog = page.getByRole('dialog', { name: 'New virtual machine' });
    await dialog.getByLabel('Name').fill('e2e debian');
    await page.keyboard.press('Enter');
    await dialog.getByText(/already exists/).waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('still lists the VM after a reload', async () => {
    await page.reload();
    await page.getByRole('option', { name: /E2E Debian/ }).waitFor();
    expect(await page.getByRole('option').count()).toBe(1);
  });

  it('deletes the VM after confirmation', async () => {
    await page.getByRole('option', { name: /E2E Debian/ }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: /Delete “E2E Debian”/ });
    await dialog.waitFor();
    await dialog.getByText('This VM has no disk images.').waitFor();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'No virtual machines yet' }).waitFor();
    expect(await vmFiles()).toEqual([]);
    await page.reload();
    await page.getByRole('heading', { name: 'No virtual machines yet' }).waitFor();
  });

  it('logged no page errors', () => {
    expect(errors).toEqual([]);
  });
});
