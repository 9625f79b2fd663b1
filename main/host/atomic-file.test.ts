import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAtomicTempFile, writeFileAtomic } from './atomic-file.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'vireo-atomic-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('creates a new file and replaces an existing one', async () => {
    const file = path.join(dir, 'a.json');
    await writeFileAtomic(file, 'one');
    expect(await readFile(file, 'utf8')).toBe('one');
    await writeFileAtomic(file, new TextEncoder().encode('two'));
    expect(await readFile(file, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('leaves the old file intact and removes the temp file when the rename fails', async () => {
    const file = path.join(dir, 'vm.json');
    await writeFile(file, 'old content');
    const failingRename = async (): Promise<void> => { throw new Error('EIO: injected rename failure'); };
    await expect(writeFileAtomic(file, 'new content', { ops: { rename: failingRename } }))
      .rejects.toThrow(/injected rename failure/);
    expect(await readFile(file, 'utf8')).toBe('old content');
    expect(await readdir(dir)).toEqual(['vm.json']);
  });

  it('leaves the old file intact when the process dies between write and rename (kill point)', async () => {
    const file = path.join(dir, 'vm.json');
    await writeFile(file, 'old content');
    let reachedKillPoint!: () => void;
    const killPoint = new Promise<void>((resolve) => { reachedKillPoint = resolve; });
    // The rename never happens: from the file system's point of view the process is dead here.
    const frozenRename = (): Promise<void> => { reachedKillPoint(); return new Promise<void>(() => undefined); };
    void writeFileAtomic(file, 'new content', { ops: { rename: frozenRename } });
    await killPoint;
    expect(await readFile(file, 'utf8')).toBe('old content');
    // The fully written, fsynced temp file is what a crash leaves behind; readers skip it.
    const leftovers = (await readdir(dir)).filter((n) => n !== 'vm.json');
    expect(leftovers).toHaveLength(1);
    expect(isAtomicTempFile(leftovers[0] ?? '')).toBe(true);
    expect(await readFile(path.join(dir, leftovers[0] ?? ''), 'utf8')).toBe('new content');
  });

  it('keeps the permission bits of the file it replaces', async () => {
    if (process.platform === 'win32') return;
    const file = path.join(dir, 'private.json');
    await writeFile(file, 'x', { mode: 0o600 });
    await writeFileAtomic(file, 'y');
    const { stat } = await import('node:fs/promises');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});
