/**
 * files.list confinement (traversal attempts), plus the wizard's other host methods through
 * the real dispatcher: iso.inspect, os.presets, host.resources, disk.create.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../protocol/index.js';
import { FileRoots } from './files.js';
import { createHostApi, type HostApi } from './host-api.js';
import { makeWindowsLikeIso, xorrisoSkipReason } from './os-detect/test-support/make-iso.js';
import { VmLibrary } from './vm-library.js';

let tmp: string;
let root: string;
let outside: string;
let api: HostApi;
let nextId = 1;

async function call(method: string, params: unknown): Promise<ResultMessage> {
  return api.handleMessage({ kind: 'call', id: nextId++, method, params });
}
async function ok(method: string, params: unknown): Promise<unknown> {
  const r = await call(method, params);
  if (!r.ok) throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
  return r.result;
}
async function fails(method: string, params: unknown): Promise<{ code: string; message: string }> {
  const r = await call(method, params);
  if (r.ok) throw new Error(`${method} succeeded: ${JSON.stringify(r.result)}`);
  return r.error;
}

beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'vireo-files-')));
  root = path.join(tmp, 'data');
  outside = path.join(tmp, 'secret');
  await mkdir(path.join(root, 'isos', 'deeper'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(outside, 'key.txt'), 'secret');
  await writeFile(path.join(root, 'isos', 'a.iso'), 'not really');
  await writeFile(path.join(root, '.hidden'), 'h');
  await symlink(outside, path.join(root, 'escape'));
  await symlink(path.join(root, 'isos'), path.join(root, 'isos-link'));
  api = createHostApi({
    library: await VmLibrary.open({ dataDir: root }), shell: 'server', version: 't',
    fileRoots: new FileRoots([root]), osinfoDir: null,
  });
});
afterAll(async () => {
  api?.dispose();
  await rm(tmp, { recursive: true, force: true });
});

describe('files.list', () => {
  it('lists the first root by default: folders first, no hidden files, no links leaving the roots', async () => {
    const r = await ok('files.list', {}) as { dir: string; parent: string | null; roots: string[]; entries: { name: string; kind: string }[] };
    expect(r.dir).toBe(root);
    expect(r.parent).toBeNull();
    expect(r.roots).toEqual([root]);
    expect(r.entries.map((e) => `${e.kind}:${e.name}`)).toEqual(['dir:isos', 'dir:isos-link', 'dir:vms']);
    const sub = await ok('files.list', { dir: path.join(root, 'isos') }) as { parent: string; entries: { name: string; sizeBytes: number }[] };
    expect(sub.parent).toBe(root);
    expect(sub.entries).toEqual([
      { name: 'deeper', path: path.join(root, 'isos', 'deeper'), kind: 'dir', sizeBytes: 0 },
      { name: 'a.iso', path: path.join(root, 'isos', 'a.iso'), kind: 'file', sizeBytes: 10 },
    ]);
  });

  it('refuses every way out of the roots', async () => {
    for (const dir of [tmp, outside, path.join(root, '..'), path.join(root, 'isos', '..', '..', 'secret'), path.join(root, 'escape'), '/', '/etc']) {
      const e = await fails('files.list', { dir });
      expect(e.code, dir).toBe('bad-request');
      expect(e.message).toMatch(/^dir: .* is outside the folders Vireo may access/);
    }
    expect((await fails('files.list', { dir: 'isos' })).message).toBe('dir: "isos" is not an absolute path');
    expect((await fails('files.list', { dir: path.join(root, 'nope') })).code).toBe('not-found');
    expect((await fails('files.list', { dir: path.join(root, 'isos', 'a.iso') })).message).toMatch(/is not a folder/);
    expect((await fails('files.list', { dir: path.join(root, 'escape', 'nope', 'x') })).message).toMatch(/outside the folders/);
  });
});

describe('wizard host methods', () => {
  it('os.presets and host.resources', async () => {
    const presets = await ok('os.presets', {}) as { presets: { id: string }[]; osinfo: boolean };
    expect(presets.osinfo).toBe(false);
    expect(presets.presets.map((p) => p.id)).toContain('win11');
    expect(await ok('host.resources', {})).toEqual({ cpus: os.cpus().length, memoryBytes: os.totalmem(), imageDir: path.join(root, 'images') });
  });

  it('disk.create makes a qcow2 image (qemu-img agrees), refuses existing files and places outside the roots', async () => {
    const disk = path.join(root, 'images', 'new.qcow2');
    expect(await ok('disk.create', { path: disk, sizeBytes: 2 * 1024 ** 3, format: 'qcow2' })).toEqual({ path: disk, sizeBytes: 2 * 1024 ** 3, format: 'qcow2' });
    if (existsSync('/usr/bin/qemu-img')) {
      const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', disk], { encoding: 'utf8' })) as { format: string; 'virtual-size': number };
      expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 2 * 1024 ** 3 });
    }
    expect(await fails('disk.create', { path: disk, sizeBytes: 1024 ** 3 })).toEqual({ code: 'conflict', message: `path: ${disk} already exists; Vireo never overwrites a disk image` });
    expect((await fails('disk.create', { path: path.join(outside, 'x.qcow2'), sizeBytes: 1024 ** 3 })).message).toMatch(/^path: .* is outside the folders/);
    expect((await fails('disk.create', { path: path.join(root, 'escape', 'x.raw'), sizeBytes: 1024 ** 3, format: 'raw' })).message).toMatch(/outside the folders/);
    expect((await fails('disk.create', { path: path.join(root, 'tiny.raw'), sizeBytes: 5 })).message).toMatch(/^params\.sizeBytes: sizeBytes must be at least 1 MiB/);
    expect(existsSync(path.join(outside, 'x.qcow2'))).toBe(false);
  });

  it.skipIf(xorrisoSkipReason() !== null)('iso.inspect detects a Windows-like ISO and refuses an HTML file', async () => {
    const iso = await makeWindowsLikeIso(path.join(root, 'isos', 'win11.iso'));
    const r = await ok('iso.inspect', { path: iso }) as { label: string; os: { id: string; source: string } };
    expect(r.label).toBe('CCCOMA_X64FRE_EN-US_DV9');
    expect(r.os).toMatchObject({ id: 'win11', source: 'presets' });
    const e = await fails('iso.inspect', { path: path.join(root, 'isos', 'a.iso') });
    expect(e.code).toBe('bad-request');
    expect(e.message).toMatch(/^path: not an ISO 9660\/UDF image: .*a\.iso starts with "not really"/);
    expect((await fails('iso.inspect', { path: path.join(outside, 'key.txt') })).message).toMatch(/outside the folders/);
  });

  it('download.start refuses a destination outside the roots; download.cancel an unknown id', async () => {
    expect((await fails('download.start', { url: 'http://127.0.0.1:9/x.iso', destDir: outside })).message).toMatch(/^destDir: .* is outside/);
    expect((await fails('download.cancel', { id: 'nope' })).code).toBe('not-found');
  });
});
