/**
 * End to end through the browser shell: the built server + the built renderer in Chromium.
 * Creates a VM through the UI, sees it listed, reloads, deletes it; checks the token gate.
 * Needs `npm run build` first (npm test does it).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, collectPageErrors, launchChromium } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/start-server.js';
import { closeE2e } from '../support/e2e-teardown.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`vm-list e2e skipped: ${skipReason}`);

let browser: Browser;

/** A page that records page errors and console errors into `errors`. */
async function newPage(errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  collectPageErrors(page, errors);
  return page;
}

describe.skipIf(skipReason !== null)('browser shell end to end', () => {
  beforeAll(async () => { browser = await launchChromium(); });
  afterAll(async () => { await browser?.close(); });

  describe('VM list: create, reload, delete', () => {
    let dataDir: string;
    let server: ServerProcess;
    let page: Page;
    const errors: string[] = [];

    beforeAll(async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-e2e-'));
      server = await startServerProcess(dataDir);
      page = await newPage(errors);
    });

    afterAll(() => closeE2e({ page, server, dataDir }));

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

      // The New-VM wizard, manual install without a disk: the old dialog's checks, step by step.
      await page.getByRole('button', { name: 'New VM' }).click();
      const dialog = page.getByRole('dialog', { name: 'New virtual machine' });
      await dialog.waitFor();
      await dialog.getByLabel('Manual install', { exact: true }).check();
      await dialog.getByRole('button', { name: 'Next' }).click();
      await dialog.getByLabel('Operating system').selectOption({ label: 'Alpine Linux 3.22' });
      await dialog.getByRole('button', { name: 'Next' }).click();
      expect(await dialog.getByLabel('Memory (MiB)').inputValue()).toBe('512');
      await dialog.getByLabel('Memory (MiB)').fill('8');
      await dialog.getByRole('button', { name: 'Next' }).click();
      await dialog.getByText('Memory must be at least 16 MiB.').waitFor();
      await dialog.getByLabel('Memory (MiB)').fill('768');
      await dialog.getByLabel('CPUs').fill('1');
      await dialog.getByLabel('Memory (MiB)').press('Enter');
      await dialog.getByLabel('No disk', { exact: true }).check();
      await dialog.getByRole('button', { name: 'Next' }).click();
      // The name field has focus; an empty submit names the field.
      await dialog.getByRole('heading', { name: /Finish/ }).waitFor();
      await page.keyboard.press('Enter');
      await dialog.getByText('Enter a name for the VM.').waitFor();
      await dialog.getByLabel('Name').fill('E2E Debian');
      await dialog.getByLabel('Customize configuration before install').check(); // created, not started
      await dialog.getByLabel('Name').press('Enter');
      await dialog.waitFor({ state: 'detached' });

      const item = page.getByRole('option', { name: /E2E Debian/ });
      await item.waitFor();
      expect(await item.getAttribute('aria-selected')).toBe('true');
      await expect.poll(() => item.textContent(), { timeout: 30_000 }).toContain('Alpine Linux 3.22');
      await expect.poll(() => item.textContent(), { timeout: 30_000 }).toContain('Stopped');
      const details = page.getByRole('article');
      await details.getByRole('heading', { name: 'E2E Debian' }).waitFor();
      expect(await details.textContent()).toContain('768 MiB');
      expect(await vmFiles()).toHaveLength(1);
    });

    it('refuses a duplicate name (case-insensitive) next to the field; Escape closes the dialog', async () => {
      await page.getByRole('button', { name: 'New VM' }).click();
      const dialog = page.getByRole('dialog', { name: 'New virtual machine' });
      await dialog.getByLabel('Manual install', { exact: true }).check();
      for (let i = 0; i < 3; i++) await dialog.getByRole('button', { name: 'Next' }).click();
      await dialog.getByLabel('No disk', { exact: true }).check();
      await dialog.getByRole('button', { name: 'Next' }).click();
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

  describe('library problems and disk images', () => {
    let dataDir: string;
    let server: ServerProcess;
    let page: Page;
    const errors: string[] = [];
    const vm = (id: string, name: string, drives: unknown[]): string => JSON.stringify({
      version: 1, id, name, os: { id: 'debian13', name: 'Debian 13' }, cpus: 1, memoryMiB: 256, drives, createdAt: '2026-01-01T00:00:00.000Z',
    });

    beforeAll(async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-e2e-'));
      const vms = path.join(dataDir, 'vms');
      await mkdir(vms);
      await writeFile(path.join(dataDir, 'system.qcow2'), 'system');
      await writeFile(path.join(dataDir, 'data.img'), 'data');
      await writeFile(path.join(dataDir, 'install.iso'), 'iso');
      await writeFile(path.join(vms, 'vm-with-disks.json'), vm('vm-with-disks', 'Server', [
        { id: 'd0', kind: 'disk', path: path.join(dataDir, 'system.qcow2'), format: 'qcow2' },
        { id: 'd1', kind: 'disk', path: path.join(dataDir, 'data.img'), format: 'raw' },
        { id: 'cd0', kind: 'cdrom', path: path.join(dataDir, 'install.iso'), format: 'iso' },
      ]));
      await writeFile(path.join(vms, 'vm-second.json'), vm('vm-second', 'Another', []));
      await writeFile(path.join(vms, 'broken-cpus.json'), vm('broken-cpus', 'Broken', []).replace('"cpus":1', '"cpus":0'));
      server = await startServerProcess(dataDir);
      page = await newPage(errors);
      await page.goto(server.url);
    });

    afterAll(() => closeE2e({ page, server, dataDir }));

    it('lists the good VMs and names the broken file and field in a banner', async () => {
      await page.getByRole('option', { name: /Server/ }).waitFor();
      expect(await page.getByRole('option').count()).toBe(2);
      const banner = page.getByRole('alert').filter({ hasText: 'could not be loaded' });
      await banner.waitFor();
      const text = await banner.textContent();
      expect(text).toContain('1 VM file could not be loaded');
      expect(text).toContain(path.join(dataDir, 'vms', 'broken-cpus.json'));
      expect(text).toContain('cpus: cpus must be at least 1');
    });

    it('moves the selection with the arrow keys', async () => {
      const first = page.getByRole('option', { name: /Another/ });
      await first.click();
      await page.keyboard.press('ArrowDown');
      await page.getByRole('article').getByRole('heading', { name: 'Server' }).waitFor();
      expect(await page.getByRole('option', { name: /Server/ }).getAttribute('aria-selected')).toBe('true');
      expect(await page.getByRole('article').textContent()).toContain(path.join(dataDir, 'data.img'));
    });

    it('deletes only the disk images ticked in the confirmation (default keep, never the ISO)', async () => {
      await page.keyboard.press('Delete');
      const dialog = page.getByRole('dialog', { name: /Delete “Server”/ });
      await dialog.waitFor();
      const boxes = dialog.getByRole('checkbox');
      expect(await boxes.count()).toBe(2);
      for (let i = 0; i < 2; i++) expect(await boxes.nth(i).isChecked()).toBe(false);
      expect(await dialog.textContent()).not.toContain('install.iso');
      await dialog.getByRole('checkbox', { name: /data\.img/ }).check();
      await dialog.getByRole('button', { name: 'Delete' }).click();
      await dialog.waitFor({ state: 'detached' });
      await page.getByRole('status').filter({ hasText: 'Deleted Server and 1 disk image(s).' }).waitFor();
      expect(await page.getByRole('option').count()).toBe(1);
      expect(existsSync(path.join(dataDir, 'data.img'))).toBe(false);
      expect(await readFile(path.join(dataDir, 'system.qcow2'), 'utf8')).toBe('system');
      expect(await readFile(path.join(dataDir, 'install.iso'), 'utf8')).toBe('iso');
      expect(existsSync(path.join(dataDir, 'vms', 'vm-with-disks.json'))).toBe(false);
    });

    it('logged no page errors', () => {
      expect(errors).toEqual([]);
    });
  });
});
