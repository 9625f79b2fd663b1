/**
 * End to end through the browser shell: the New-VM wizard in Chromium. Creates a Windows 11
 * VM from a generated Windows-like ISO (OS detection, capped defaults, virtio-win ISO from a
 * file, a qcow2 disk qemu-img agrees with), and downloads the virtio-win ISO from a local
 * HTTP server (progress, an HTML answer refused). Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeIso, makeWindowsLikeIso, xorrisoSkipReason } from '../../main/host/os-detect/test-support/make-iso.js';
import { chromiumSkipReason, collectPageErrors, launchChromium } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/start-server.js';

const skipReason = chromiumSkipReason() ?? xorrisoSkipReason() ?? (existsSync('/usr/bin/qemu-img') ? null : 'qemu-img is missing (apt-get install qemu-utils)');
if (skipReason) console.warn(`wizard e2e skipped: ${skipReason}`);

const GiB = 1024 ** 3;

describe.skipIf(skipReason !== null)('New-VM wizard end to end', () => {
  let browser: Browser;
  let dataDir: string;
  let isoDir: string;
  let server: ServerProcess;
  let page: Page;
  let http1: http.Server;
  let base: string;
  let virtioBytes: Buffer;
  let releaseSlow: (() => void) | null = null;
  const errors: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vireo-wizard-e2e-'));
    isoDir = path.join(dataDir, 'isos');
    await mkdir(isoDir);
    await makeWindowsLikeIso(path.join(isoDir, 'Win11_24H2_English_x64.iso'));
    await makeIso(path.join(isoDir, 'virtio-win.iso'), { label: 'virtio-win-0.1.266', files: { 'viostor/w11/amd64/viostor.inf': 'x' } });
    virtioBytes = await readFile(path.join(isoDir, 'virtio-win.iso'));
    await writeFile(path.join(isoDir, 'error-page.iso'), '<!DOCTYPE html><html><body>Not Found</body></html>\n'.repeat(800));

    http1 = http.createServer((req, res) => {
      if (req.url === '/html/virtio-win.iso') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<!DOCTYPE html><p>Sign in</p>');
      } else if (req.url === '/slow/virtio-win.iso') {
        // Half now, the rest when the test has seen the progress.
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': virtioBytes.length });
        res.write(virtioBytes.subarray(0, virtioBytes.length / 2));
        releaseSlow = () => res.end(virtioBytes.subarray(virtioBytes.length / 2));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => http1.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http1.address() as AddressInfo).port}`;

    server = await startServerProcess(dataDir);
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(30_000); // a missing element fails with its locator, before the test's timeout
    collectPageErrors(page, errors);
  });

  afterAll(async () => {
    releaseSlow?.();
    await page?.close();
    await browser?.close();
    await server?.stop();
    http1?.closeAllConnections();
    await new Promise((r) => http1?.close(r));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const vmDocs = async (): Promise<Record<string, unknown>[]> => {
    const dir = path.join(dataDir, 'vms');
    const names = existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.json')) : [];
    return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(dir, n), 'utf8')) as Record<string, unknown>));
  };

  it('creates a Windows 11 VM from a Windows-like ISO with the virtio ISO attached from a file', async () => {
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'No virtual machines yet' }).waitFor();
    await page.getByRole('button', { name: 'New VM' }).click();
    const wizard = page.getByRole('dialog', { name: 'New virtual machine' });
    await wizard.getByRole('heading', { name: 'Step 1 of 5: Install method' }).waitFor();
    expect(await wizard.getByLabel('Local install media (ISO image)').isChecked()).toBe(true);
    // Next waits for the OS presets and host facts; then Enter goes on.
    await expect.poll(() => wizard.getByRole('button', { name: 'Next' }).isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.keyboard.press('Enter');
    await wizard.getByRole('heading', { name: 'Step 2 of 5: Install media' }).waitFor();

    // Field-level messages: nothing chosen, then an HTML page saved as .iso.
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByText('Choose the install ISO.').waitFor();
    await wizard.getByLabel('Install ISO').fill(path.join(isoDir, 'error-page.iso'));
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByText(/not an ISO 9660\/UDF image: .*error-page\.iso starts with "<!DOCTYPE html>/).waitFor();

    // The server-side file browser, confined to home and the data folder; Escape closes it alone.
    await wizard.getByRole('button', { name: 'Browse…' }).click();
    const picker = page.getByRole('dialog', { name: 'Choose the install ISO' });
    await picker.waitFor();
    await picker.getByRole('button', { name: path.resolve(dataDir) }).waitFor();
    await page.keyboard.press('Escape');
    await picker.waitFor({ state: 'detached' });
    expect(await wizard.isVisible()).toBe(true);
    await wizard.getByRole('button', { name: 'Browse…' }).click();
    await picker.waitFor();
    await picker.getByRole('button', { name: path.resolve(dataDir) }).click();
    await picker.getByRole('button', { name: /isos\// }).click();
    await picker.getByRole('button', { name: /Win11_24H2_English_x64\.iso/ }).click();
    expect(await picker.getByRole('button', { name: /error-page\.iso/ }).count()).toBe(1);
    await picker.getByRole('button', { name: 'Open' }).click();
    await picker.waitFor({ state: 'detached' });
    expect(await wizard.getByLabel('Install ISO').inputValue()).toBe(path.join(isoDir, 'Win11_24H2_English_x64.iso'));
    await wizard.getByText('Detected: Microsoft Windows 11').waitFor();
    expect(await wizard.getByText('CCCOMA_X64FRE_EN-US_DV9').count()).toBeGreaterThan(0);
    expect(await wizard.getByLabel('Operating system').inputValue()).toBe('win11');
    await wizard.getByRole('button', { name: 'Next' }).click();

    // Windows 11's 4 vCPU / 8 GiB, capped by this host.
    await wizard.getByRole('heading', { name: 'Step 3 of 5: Memory and CPUs' }).waitFor();
    const hostHalfMiB = Math.max(256, Math.floor(os.totalmem() / 1024 / 1024 / 2 / 256) * 256);
    expect(await wizard.getByLabel('CPUs').inputValue()).toBe(String(Math.min(4, os.cpus().length)));
    expect(await wizard.getByLabel('Memory (MiB)').inputValue()).toBe(String(Math.min(8192, hostHalfMiB)));
    await wizard.getByLabel('CPUs').fill(String(os.cpus().length + 1));
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByText(`CPUs must not exceed the host's ${os.cpus().length}.`).waitFor();
    await wizard.getByLabel('CPUs').fill(String(Math.min(4, os.cpus().length)));
    await wizard.getByRole('button', { name: 'Next' }).click();

    await wizard.getByRole('heading', { name: 'Step 4 of 5: Storage' }).waitFor();
    expect(await wizard.getByLabel('Create a new disk image').isChecked()).toBe(true);
    expect(await wizard.getByLabel('Size (GiB)').inputValue()).toBe('128');
    expect(await wizard.getByLabel('Format').inputValue()).toBe('qcow2');
    await wizard.getByRole('button', { name: 'Next' }).click();

    await wizard.getByRole('heading', { name: 'Step 5 of 5: Finish' }).waitFor();
    expect(await wizard.getByLabel('UEFI').isDisabled()).toBe(true);
    await wizard.getByText('not available yet').waitFor();
    await wizard.getByText('Disk: IDE').waitFor();
    await wizard.getByLabel('Attach a local virtio-win ISO').check();
    await wizard.getByLabel('virtio-win ISO', { exact: true }).fill(path.join(isoDir, 'virtio-win.iso'));
    await wizard.getByText(/Disk: virtio-blk/).waitFor();
    // Customize first: the VM is created but not started.
    await wizard.getByLabel('Customize configuration before install').check();
    await wizard.getByText('The VM is created but not started').waitFor();
    await wizard.getByRole('button', { name: 'Create' }).click();
    await wizard.getByText('Enter a name for the VM.').waitFor();
    await wizard.getByLabel('Name').fill('Win 11 E2E');
    await wizard.getByLabel('Name').press('Enter');
    await wizard.waitFor({ state: 'detached' });

    await page.getByRole('option', { name: /Win 11 E2E/ }).waitFor();
    expect(await page.getByRole('article').locator('.details-header .state').textContent()).toBe('Stopped');
    const [doc] = await vmDocs();
    const diskPath = path.join(dataDir, 'images', 'win-11-e2e.qcow2');
    expect(doc).toMatchObject({
      name: 'Win 11 E2E', os: { id: 'win11', name: 'Microsoft Windows 11' }, firmware: 'bios', cpus: Math.min(4, os.cpus().length),
      memoryMiB: Math.min(8192, hostHalfMiB), bootOrder: ['cdrom', 'disk'], network: { mode: 'user', model: 'virtio' },
      drives: [
        { id: 'disk0', kind: 'disk', path: diskPath, format: 'qcow2', bus: 'virtio' },
        { id: 'cd0', kind: 'cdrom', path: path.join(isoDir, 'Win11_24H2_English_x64.iso'), format: 'iso', readOnly: true },
        { id: 'cd1', kind: 'cdrom', path: path.join(isoDir, 'virtio-win.iso'), format: 'iso', readOnly: true },
      ],
    });
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', diskPath], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 128 * GiB });
  }, 90_000);

  it('downloads the virtio-win ISO with progress, and refuses an HTML answer', async () => {
    await page.getByRole('button', { name: 'New VM' }).click();
    const wizard = page.getByRole('dialog', { name: 'New virtual machine' });
    await wizard.getByLabel('Manual install', { exact: true }).check();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByLabel('Operating system').selectOption({ label: 'Microsoft Windows 10' });
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByLabel('No disk').check();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByLabel('Name').fill('Win 10 Downloaded');
    await wizard.getByLabel('Download the virtio-win ISO').check();
    await wizard.getByLabel('Customize configuration before install').check();
    expect(await wizard.getByLabel('Download from').inputValue()).toMatch(/^https:\/\/fedorapeople\.org\/.*virtio-win\.iso$/);
    await wizard.getByRole('button', { name: 'Create' }).click();
    await wizard.getByText('Start the download, or pick another option.').waitFor();

    await wizard.getByLabel('Download from').fill(`${base}/html/virtio-win.iso`);
    await wizard.getByRole('button', { name: 'Download' }).click();
    await wizard.getByText(/the server sent an HTML page \(text\/html\) instead of an ISO image/).waitFor();

    await wizard.getByLabel('Download from').fill(`${base}/slow/virtio-win.iso`);
    await wizard.getByRole('button', { name: 'Retry download' }).click();
    const progress = wizard.getByRole('progressbar', { name: 'Download progress' });
    await progress.waitFor();
    await wizard.getByText(/KiB of \d+(\.\d)? KiB/).waitFor();
    expect(Number(await progress.getAttribute('max'))).toBe(virtioBytes.length);
    await wizard.getByRole('button', { name: 'Create' }).click();
    await wizard.getByText('Wait for the download to finish, or cancel it.').waitFor();
    releaseSlow?.();
    await wizard.getByText(/Downloaded to .*virtio-win\.iso \(virtio-win-0\.1\.266\)/).waitFor();
    await wizard.getByRole('button', { name: 'Create' }).click();
    await wizard.waitFor({ state: 'detached' });
    await page.getByRole('option', { name: /Win 10 Downloaded/ }).waitFor();
    const doc = (await vmDocs()).find((d) => d['name'] === 'Win 10 Downloaded');
    const downloaded = path.join(dataDir, 'images', 'virtio-win.iso');
    expect(doc).toMatchObject({
      os: { id: 'win10' }, bootOrder: ['cdrom'], network: { model: 'virtio' },
      drives: [{ id: 'cd1', kind: 'cdrom', path: downloaded, format: 'iso' }],
    });
    expect(await readFile(downloaded)).toEqual(virtioBytes);
  }, 90_000);

  it('logged no page errors', () => {
    expect(errors).toEqual([]);
  });
});
