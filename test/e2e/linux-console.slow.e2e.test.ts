/**
 * End to end through the browser shell with a real Linux guest (the Linux test ISO from
 * Debian's kernel and busybox): the New-VM wizard creates the VM from the ISO, Start boots
 * it, and in the Console tab Playwright types `echo hello-vireo` as real key events into
 * the noVNC canvas; the guest's shell on tty1 (the VGA text console) echoes it and prints
 * the answer, read back from the emulator's own screen. Then Send key > Ctrl+Alt+Del
 * reboots the guest (the kernel's ctrl-alt-del handler is set to restart at once), and
 * SeaBIOS shows its banner again.
 *
 * A Linux boot on the interpreter takes minutes: only with VIREO_SLOW=1 (npm run test:slow).
 * Needs `npm run build` first.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLinuxTestIso, linuxGuestToolsAvailable } from '../fixtures/linux-guest.js';
import { chromiumSkipReason, collectPageErrors, launchChromium } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/start-server.js';
import { closeE2e } from '../support/e2e-teardown.js';
import { apiCall } from '../support/api-call.js';

const tools = linuxGuestToolsAvailable();
const skipReason = process.env['VIREO_SLOW'] !== '1' ? 'set VIREO_SLOW=1 (npm run test:slow)'
  : chromiumSkipReason() ?? (tools.ok ? null : tools.reason);

/** The guest: a shell on tty1 (the VGA console), Ctrl+Alt+Del restarting at once. */
const SHELL_SCRIPT = `
echo 1 > /proc/sys/kernel/ctrl-alt-del
echo SHELL-ON-TTY1
exec sh -i </dev/tty1 >/dev/tty1 2>&1
`;

const BOOT_TIMEOUT_MS = 1_500_000;

describe.skipIf(skipReason !== null)(`a Linux VM from the wizard, driven through the console${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let browser: Browser;
  let dataDir: string;
  let server: ServerProcess;
  let page: Page;
  let iso: string;
  const errors: string[] = [];
  const name = 'Linux Console VM';

  beforeAll(async () => {
    iso = buildLinuxTestIso({ script: SHELL_SCRIPT });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-e2e-linux-'));
    server = await startServerProcess(dataDir);
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    collectPageErrors(page, errors);
  }, 600_000);

  afterAll(() => closeE2e({ page, browser, server, dataDir }));

  const vmId = async (): Promise<string> => {
    const r = await apiCall(server, 'vm.list', {});
    if (!r.ok) throw new Error(r.error.message);
    const vm = (r.result as { vms: Array<{ config: { id: string; name: string } }> }).vms.find((v) => v.config.name === name);
    if (!vm) throw new Error(`no VM named ${name}`);
    return vm.config.id;
  };
  const screenText = async (id: string): Promise<string> => {
    const r = await apiCall(server, 'vm.screenText', { id });
    return r.ok ? (r.result as { text: string }).text : '';
  };

  it('creates the VM from the Linux test ISO in the wizard', async () => {
    await page.goto(server.url);
    await page.getByRole('button', { name: 'New VM' }).click();
    const wizard = page.getByRole('dialog', { name: 'New virtual machine' });
    await expect.poll(() => wizard.getByRole('button', { name: 'Next' }).isEnabled(), { timeout: 30_000 }).toBe(true);
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Step 2 of 5: Install media' }).waitFor();
    await wizard.getByLabel('Install ISO').fill(iso);
    await wizard.getByRole('button', { name: 'Next' }).click();
    // The ISO is read first: its label says nothing more than Linux.
    await wizard.getByText(/Detected: Linux \(unrecognised distribution\)/).waitFor();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Step 3 of 5: Memory and CPUs' }).waitFor();
    await wizard.getByLabel('Memory (MiB)').fill('256');
    await wizard.getByLabel('CPUs').fill('1');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Step 4 of 5: Storage' }).waitFor();
    await wizard.getByLabel('No disk').check();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('heading', { name: 'Step 5 of 5: Finish' }).waitFor();
    await wizard.getByLabel('Name', { exact: true }).fill(name);
    await wizard.getByLabel('Network').selectOption('none');
    // Not customizing: the VM starts as soon as it is created (virt-manager's default).
    expect(await wizard.getByLabel('Customize configuration before install').isChecked()).toBe(false);
    await wizard.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('option', { name: new RegExp(name) }).waitFor();
  }, 180_000);

  it('started it; types `echo hello-vireo` into the console and sees the shell answer on the screen', async () => {
    const id = await vmId();
    await page.getByRole('option', { name: new RegExp(name) }).click();
    await expect.poll(() => page.getByRole('article').locator('.details-header .state').textContent(), { timeout: 60_000 }).toBe('Running');
    await page.getByRole('tab', { name: 'Console' }).click();
    await page.getByText('Screen: connected').waitFor({ timeout: 30_000 });

    // The shell owns tty1 once its prompt is on the screen (screen lines come right-trimmed: "/ #").
    await expect.poll(() => screenText(id), { timeout: BOOT_TIMEOUT_MS, interval: 2000 }).toMatch(/^[~/][^\n]* #$/m);
    const canvas = page.getByLabel(`Screen of ${name}`).locator('canvas');
    await canvas.click();
    await page.keyboard.type('echo hello-vireo', { delay: 60 });
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await screenText(id)).split('\n').map((l) => l.trimEnd()), { timeout: 120_000, interval: 1000 })
      .toContain('hello-vireo');
    const text = await screenText(id);
    expect(text).toMatch(/# echo hello-vireo$/m);
  }, BOOT_TIMEOUT_MS + 180_000);

  it('reboots the guest with Send key > Ctrl+Alt+Del', async () => {
    const id = await vmId();
    await page.getByRole('button', { name: 'Send key' }).click();
    await page.getByRole('menuitem', { name: 'Ctrl+Alt+Del' }).click();
    // The kernel restarts the machine; the firmware's banner comes back.
    await expect.poll(() => screenText(id), { timeout: 300_000, interval: 500 }).toContain('SeaBIOS');
    expect(await page.getByRole('article').locator('.details-header .state').textContent()).toBe('Running');
  }, 360_000);

  it('logged no page errors', () => {
    expect(errors).toEqual([]);
  });
});
