/**
 * End to end through the browser shell: the VM details editor (memory and CPUs persisted
 * across a reload, a CD-ROM added), Clone with disk copies, and the graceful shut down of
 * a running SeaBIOS VM, which ignores the ACPI power button: the UI says so and Force off
 * works. Needs `npm run build` first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, collectPageErrors, launchChromium } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/start-server.js';
import { closeE2e } from '../support/e2e-teardown.js';
import { apiResult } from '../support/api-call.js';

const skipReason = chromiumSkipReason();
const hasXorriso = spawnSync('sh', ['-c', 'command -v xorriso'], { stdio: 'ignore' }).status === 0;
if (skipReason) console.warn(`details e2e skipped: ${skipReason}`);



describe.skipIf(skipReason !== null)('the VM details editor, Clone and Shut down', () => {
  let browser: Browser;
  let dataDir: string;
  let server: ServerProcess;
  let page: Page;
  let diskPath: string;
  let vmId: string;
  const errors: string[] = [];
  const name = 'Edit Me';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-e2e-details-'));
    server = await startServerProcess(dataDir, [], 20_000, { VIREO_TEST_HOOKS: '1', VIREO_TEST_SHUTDOWN_TIMEOUT_MS: '4000' });
    diskPath = path.join(dataDir, 'images', 'edit-me.qcow2');
    await apiResult(server, 'disk.create', { path: diskPath, sizeBytes: 64 * 1024 * 1024, format: 'qcow2' });
    const entry = await apiResult<{ config: { id: string } }>(server, 'vm.create', {
      draft: {
        name, os: { id: 'generic', name: 'Generic' }, cpus: 1, memoryMiB: 64, bootOrder: ['disk'],
        network: { mode: 'none', model: 'virtio' }, drives: [{ id: 'disk0', kind: 'disk', path: diskPath, format: 'qcow2' }],
      },
    });
    vmId = entry.config.id;
    browser = await launchChromium();
    page = await browser.newPage();
    collectPageErrors(page, errors);
  });

  afterAll(() => closeE2e({ page, browser, server, dataDir }));

  const details = () => page.getByRole('article');
  const badge = (): Promise<string | null> => details().locator('.details-header .state').textContent();
  const toolbarButton = (label: string) => page.getByRole('toolbar').getByRole('button', { name: label, exact: true });
  const selectVm = async (vmName: string): Promise<void> => {
    await page.getByRole('option').filter({ has: page.locator('.vm-name', { hasText: new RegExp(`^${vmName}$`) }) }).click();
    await details().getByRole('heading', { name: vmName, exact: true }).waitFor({ timeout: 30_000 });
  };

  it('edits memory and CPUs with field messages, and keeps them after a reload', async () => {
    await page.goto(server.url);
    await selectVm(name);
    await page.getByRole('tab', { name: 'Memory' }).click();
    const memory = details().getByLabel('Memory (MiB)');
    await memory.fill('8');
    await details().getByText('memoryMiB must be at least 16').waitFor({ timeout: 30_000 });
    expect(await memory.getAttribute('aria-invalid')).toBe('true');
    expect(await details().getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    await memory.fill('96');
    await page.getByRole('tab', { name: 'CPUs' }).click();
    await details().getByLabel('Virtual CPUs').fill('2');
    await details().getByRole('button', { name: 'Save' }).click();
    await page.getByText(`Saved ${name}.`).waitFor({ timeout: 30_000 });

    await page.reload();
    await selectVm(name);
    await page.getByRole('tab', { name: 'Memory' }).click();
    await expect.poll(() => details().getByLabel('Memory (MiB)').inputValue(), { timeout: 30_000 }).toBe('96');
    await page.getByRole('tab', { name: 'CPUs' }).click();
    expect(await details().getByLabel('Virtual CPUs').inputValue()).toBe('2');
    const stored = JSON.parse(await readFile(path.join(dataDir, 'vms', `${vmId}.json`), 'utf8')) as { memoryMiB: number; cpus: number };
    expect(stored).toMatchObject({ memoryMiB: 96, cpus: 2 });
  });

  it('adds a CD-ROM drive with an ISO and saves it', async () => {
    await page.getByRole('tab', { name: 'Disks and CD-ROMs' }).click();
    await details().getByRole('button', { name: 'Add CD-ROM drive' }).click();
    const cd = details().getByRole('group', { name: 'CD-ROM cd0' });
    await cd.getByLabel('ISO image').fill('relative.iso');
    await cd.getByText('path must be an absolute path').waitFor({ timeout: 30_000 });
    await cd.getByLabel('ISO image').fill('/srv/isos/install.iso');
    await details().getByRole('button', { name: 'Save' }).click();
    await page.getByText(`Saved ${name}.`).first().waitFor({ timeout: 30_000 });
    await expect.poll(async () => {
      const vm = await apiResult<{ config: { drives: { kind: string; path: string }[] } }>(server, 'vm.get', { id: vmId });
      return vm.config.drives.map((d) => `${d.kind}:${d.path}`);
    }, { timeout: 30_000 }).toEqual([`disk:${diskPath}`, 'cdrom:/srv/isos/install.iso']);
  });

  it('clones the VM with a copy of its disk', async () => {
    await toolbarButton('Clone').click();
    const dialog = page.getByRole('dialog', { name: `Clone “${name}”` });
    await dialog.waitFor();
    expect(await dialog.getByLabel('Name of the clone').inputValue()).toBe(`${name} clone`);
    await dialog.getByLabel('Name of the clone').fill(name.toUpperCase());
    await dialog.getByText(/already exists/).waitFor();
    await dialog.getByLabel('Name of the clone').fill('Edit Me Twin');
    await dialog.getByLabel(/Copy the disk images/).check();
    await dialog.getByRole('button', { name: 'Clone', exact: true }).click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });
    await details().getByRole('heading', { name: 'Edit Me Twin', exact: true }).waitFor({ timeout: 30_000 });
    const copy = path.join(dataDir, 'images', 'edit-me-twin.qcow2');
    expect(existsSync(copy)).toBe(true);
    expect(await readFile(copy)).toEqual(await readFile(diskPath));
    expect(await details().getByRole('group', { name: 'Disk disk0' }).getByLabel('Disk image').inputValue()).toBe(copy);
    expect(await page.getByRole('listbox', { name: 'Virtual machines' }).getByRole('option').count()).toBe(2);
  });

  it('shuts down a running SeaBIOS VM: no response to the power button, then Force off', async () => {
    // A VM without drives (the edited one now has an ISO path that does not exist).
    await apiResult(server, 'vm.create', {
      draft: {
        name: 'Power Test', os: { id: 'generic', name: 'Generic' }, cpus: 1, memoryMiB: 64, network: { mode: 'none', model: 'virtio' },
        drives: [{ id: 'cd0', kind: 'cdrom', path: '', format: 'iso', readOnly: true }],
        // The interpreter explicitly (auto takes KVM where /dev/kvm is usable); the details say why.
        backend: 'interp',
      },
    });
    await selectVm('Power Test');
    await toolbarButton('Start').click();
    await expect.poll(badge, { timeout: 60_000 }).toBe('Running');
    await page.getByRole('tab', { name: 'Overview' }).click();
    await details().getByText('In use now: interpreter (the interpreter was requested).').waitFor({ timeout: 30_000 });
    // While running only CD-ROM media can change.
    await page.getByRole('tab', { name: 'Memory' }).click();
    expect(await details().getByLabel('Memory (MiB)').isDisabled()).toBe(true);
    // ... which is applied to the running machine (needs xorriso for a real ISO).
    if (hasXorriso) {
      const iso = path.join(dataDir, 'media.iso');
      const root = path.join(dataDir, 'media-root');
      await mkdir(root, { recursive: true });
      await writeFile(path.join(root, 'README.TXT'), 'media\n');
      execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'MEDIA', '-o', iso, root], { stdio: 'ignore' });
      await page.getByRole('tab', { name: 'Disks and CD-ROMs' }).click();
      const cd = details().getByRole('group', { name: 'CD-ROM cd0' });
      expect(await details().getByRole('button', { name: 'Add CD-ROM drive' }).count()).toBe(0);
      await cd.getByLabel('ISO image').fill(iso);
      await details().getByRole('button', { name: 'Save' }).click();
      await page.getByText('Saved Power Test.').waitFor({ timeout: 30_000 });
      expect(await badge()).toBe('Running');
    }

    await toolbarButton('Shut down').click();
    const message = 'The guest did not respond to the ACPI power button; use Force off';
    await details().locator('.state-reason').getByText(message).waitFor({ timeout: 60_000 });
    expect(await badge()).toBe('Running');
    await toolbarButton('Force off').click();
    await expect.poll(badge, { timeout: 30_000 }).toBe('Stopped');
    expect(await details().locator('.state-reason').textContent()).toContain('Forced off');
  }, 180_000);

  it('logged no page errors', () => {
    expect(errors).toEqual([]);
  });
});
