/**
 * End to end through the browser shell: run a VM from the UI on the real emulator worker
 * (SeaBIOS). Create, Start, see it running with a CPU sparkline, look at its screen and
 * serial console, Force off; then kill its worker through the test hook and see "crashed"
 * with the reason while the app keeps working. Needs `npm run build` first.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, collectPageErrors, launchChromium } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/start-server.js';
import { closeE2e } from '../support/e2e-teardown.js';
import { apiCall } from '../support/api-call.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`vm-run e2e skipped: ${skipReason}`);


/** Non-black pixels of the live screen (the noVNC canvas) currently shown. */
function litPixels(page: Page, label: string): Promise<number> {
  return page.evaluate((aria) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`[aria-label="${aria}"] canvas`);
    if (!canvas || canvas.width === 0) return -1;
    const ctx = canvas.getContext('2d');
    if (!ctx) return -1;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) if ((data[i] ?? 0) + (data[i + 1] ?? 0) + (data[i + 2] ?? 0) > 0) lit++;
    return lit;
  }, label);
}

describe.skipIf(skipReason !== null)('running a VM from the UI', () => {
  let browser: Browser;
  let dataDir: string;
  let server: ServerProcess;
  let page: Page;
  const errors: string[] = [];
  const name = 'Run Me';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-e2e-run-'));
    server = await startServerProcess(dataDir, [], 20_000, { VIREO_TEST_HOOKS: '1' });
    browser = await launchChromium();
    page = await browser.newPage();
    collectPageErrors(page, errors);
  });

  afterAll(() => closeE2e({ page, browser, server, dataDir }));

  const badge = (): Promise<string | null> => page.getByRole('article').locator('.details-header .state').textContent();
  const button = (label: string) => page.getByRole('toolbar').getByRole('button', { name: label, exact: true });

  it('creates a VM and starts it', async () => {
    await page.goto(server.url);
    await page.getByRole('button', { name: 'New VM' }).click();
    const dialog = page.getByRole('dialog', { name: 'New virtual machine' });
    // The New-VM wizard: manual install, no disk.
    await dialog.getByLabel('Manual install', { exact: true }).check();
    await dialog.getByRole('button', { name: 'Next' }).click();
    await dialog.getByRole('button', { name: 'Next' }).click();
    await dialog.getByLabel('Memory (MiB)').fill('128');
    await dialog.getByLabel('CPUs').fill('1');
    await dialog.getByRole('button', { name: 'Next' }).click();
    await dialog.getByLabel('No disk', { exact: true }).check();
    await dialog.getByRole('button', { name: 'Next' }).click();
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByLabel('Customize configuration before install').check(); // created, not started: Start below
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('article').getByRole('heading', { name }).waitFor();
    expect(await badge()).toBe('Stopped');
    expect(await button('Pause').isDisabled()).toBe(true);
    expect(await button('Force off').isDisabled()).toBe(true);

    await button('Start').click();
    await expect.poll(badge, { timeout: 60_000 }).toBe('Running');
    expect(await button('Start').isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Delete', exact: true }).isDisabled()).toBe(true);
    // The CPU sparkline appears in the list once the first sample arrives.
    await page.getByRole('option', { name: new RegExp(name) }).getByRole('img', { name: /^CPU / }).waitFor({ timeout: 30_000 });
  });

  it('shows the screen (not blank) and the serial console', async () => {
    await page.getByRole('tab', { name: 'Console' }).click();
    await page.getByRole('tab', { name: 'Screen' }).waitFor();
    const alt = `Screen of ${name}`;
    await page.getByRole('application', { name: alt }).waitFor({ timeout: 30_000 });
    await expect.poll(() => litPixels(page, alt), { timeout: 60_000, interval: 1000 }).toBeGreaterThan(100);
    const text = await apiCall(server, 'vm.list', {});
    const id = text.ok ? (text.result as { vms: { config: { id: string } }[] }).vms[0]?.config.id : undefined;
    await expect.poll(async () => {
      const r = await apiCall(server, 'vm.screenText', { id });
      return r.ok ? (r.result as { text: string }).text : '';
    }, { timeout: 60_000, interval: 1000 }).toContain('SeaBIOS');

    await page.getByRole('tab', { name: 'Serial', exact: true }).click();
    await page.getByRole('group', { name: `Serial console of ${name}` }).waitFor();
    await page.getByText('Serial: open').waitFor({ timeout: 30_000 });
  });

  it('pauses, resumes and forces the VM off', async () => {
    await button('Pause').click();
    await expect.poll(badge, { timeout: 20_000 }).toBe('Paused');
    await button('Resume').click();
    await expect.poll(badge, { timeout: 20_000 }).toBe('Running');
    await button('Force off').click();
    await expect.poll(badge, { timeout: 20_000 }).toBe('Stopped');
    expect(await page.getByRole('article').textContent()).toContain('Forced off');
  });

  it('shows "crashed" with the reason when the worker dies, and keeps working', async () => {
    await button('Start').click();
    await expect.poll(badge, { timeout: 60_000 }).toBe('Running');
    const list = await apiCall(server, 'vm.list', {});
    const id = list.ok ? (list.result as { vms: { config: { id: string } }[] }).vms[0]?.config.id : undefined;
    expect(await apiCall(server, 'test.killWorker', { id })).toMatchObject({ ok: true });
    await expect.poll(badge, { timeout: 20_000 }).toBe('Crashed');
    expect(await page.getByRole('article').locator('.state-reason').textContent()).toMatch(/The emulator worker exited unexpectedly/);
    // The app (and the VM) keep working.
    await button('Start').click();
    await expect.poll(badge, { timeout: 60_000 }).toBe('Running');
    // "Shut down" presses the ACPI power button, which SeaBIOS ignores (details.e2e covers it): pull the plug.
    await button('Force off').click();
    await expect.poll(badge, { timeout: 30_000 }).toBe('Stopped');
    expect(await page.getByRole('button', { name: 'Delete', exact: true }).isDisabled()).toBe(false);
  });

  it('logged no page errors', () => {
    expect(errors).toEqual([]);
  });
});
