/**
 * `npm start` without the Electron binary: scripts/start-electron.mjs must print one
 * explanatory line (no stack trace) and exit 1. The electron package is faked with
 * VIREO_ELECTRON_PACKAGE_DIR so the test never downloads or launches anything.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const script = path.resolve('scripts/start-electron.mjs');

function run(env: Record<string, string>, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const base: Record<string, string | undefined> = { ...process.env };
  delete base['ELECTRON_SKIP_BINARY_DOWNLOAD'];
  delete base['VIREO_ELECTRON_PACKAGE_DIR'];
  const r = spawnSync(process.execPath, [script, ...args], { env: { ...base, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineExplanation(out: { status: number | null; stdout: string; stderr: string }, why: RegExp): void {
  expect(out.status).toBe(1);
  expect(out.stdout).toBe('');
  const lines = out.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  const line = lines[0] ?? '';
  expect(line).toMatch(/Electron binary is not installed/);
  expect(line).toMatch(why);
  expect(line).toContain('node node_modules/electron/install.js');
  expect(line).toContain('npm run serve');
  expect(out.stderr).not.toMatch(/\n\s+at /);
}

describe('scripts/start-electron.mjs without the Electron binary', () => {
  let fakeElectron: string;
  beforeEach(async () => { fakeElectron = await mkdtemp(path.join(os.tmpdir(), 'vireo-fake-electron-')); });
  afterEach(async () => { await rm(fakeElectron, { recursive: true, force: true }); });

  it('with ELECTRON_SKIP_BINARY_DOWNLOAD=1: one line, exit 1, no download attempt', async () => {
    await writeFile(path.join(fakeElectron, 'install.js'), "require('fs').writeFileSync(__dirname + '/ran', 'x');\n");
    const out = run({ ELECTRON_SKIP_BINARY_DOWNLOAD: '1', VIREO_ELECTRON_PACKAGE_DIR: fakeElectron });
    expectOneLineExplanation(out, /ELECTRON_SKIP_BINARY_DOWNLOAD=1/);
    expect(existsSync(path.join(fakeElectron, 'ran'))).toBe(false);
  });

  it('when the download fails: tries the installer once, hides its stack trace, one line, exit 1', async () => {
    await writeFile(path.join(fakeElectron, 'install.js'), [
      "const fs = require('fs');",
      "fs.appendFileSync(__dirname + '/ran', 'x');",
      "console.error(new Error('getaddrinfo ENOTFOUND github.com').stack);",
      'process.exit(1);',
    ].join('\n'));
    const out = run({ VIREO_ELECTRON_PACKAGE_DIR: fakeElectron });
    expectOneLineExplanation(out, /download failed/);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path.join(fakeElectron, 'ran'), 'utf8')).toBe('x');
  });

  it.skipIf(existsSync(path.resolve('node_modules/electron/path.txt')))(
    'with the real electron package on this machine (binary absent): one line, exit 1', () => {
      expectOneLineExplanation(run({ ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }), /not installed/);
    });

  it.skipIf(process.platform === 'win32' || !existsSync(path.resolve('dist/main/electron/main.js')))(
    'with the binary present: launches it on the app directory, forwards arguments and the exit code', async () => {
      await mkdir(path.join(fakeElectron, 'dist'));
      await writeFile(path.join(fakeElectron, 'path.txt'), 'electron');
      const bin = path.join(fakeElectron, 'dist', 'electron');
      await writeFile(bin, '#!/bin/sh\necho "fake-electron $*"\nexit 3\n');
      await chmod(bin, 0o755);
      const out = run({ VIREO_ELECTRON_PACKAGE_DIR: fakeElectron }, ['--data-dir', '/tmp/x']);
      expect(out.stdout.trim()).toBe(`fake-electron ${process.cwd()} --data-dir /tmp/x`);
      expect(out.status).toBe(3);
    });
});
