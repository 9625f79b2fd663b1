/**
 * Cloning a VM: new disk image names next to the originals and a byte copy that never
 * overwrites. The configuration part is `VmLibrary.create` with the source's settings.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApiError, type VmConfig } from '../../protocol/index.js';

/** A file-name-safe form of a VM name ("My VM (2)" -> "my-vm-2"); never empty. */
export function fileSlug(name: string): string {
  const slug = name.trim().toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return slug === '' ? 'vm' : slug.slice(0, 80);
}

/**
 * Where each disk image of `source` goes in a clone named `cloneName`: the same folder,
 * `<slug>.<ext>` for the first disk, `<slug>-2.<ext>` for the second, ... Only disk drives
 * with an image; CD-ROMs are shared. Returns drive id -> { from, to }.
 */
export function cloneDiskTargets(source: VmConfig, cloneName: string): Map<string, { from: string; to: string }> {
  const slug = fileSlug(cloneName);
  const targets = new Map<string, { from: string; to: string }>();
  let n = 0;
  for (const d of source.drives) {
    if (d.kind !== 'disk' || d.path === '') continue;
    n++;
    const ext = path.extname(d.path) || (d.format === 'qcow2' ? '.qcow2' : '.img');
    const to = path.join(path.dirname(d.path), `${slug}${n > 1 ? `-${n}` : ''}${ext}`);
    targets.set(d.id, { from: d.path, to });
  }
  return targets;
}

/** Copies `from` to `to` byte for byte; refuses (ApiError 'conflict') if `to` exists. */
export async function copyImage(from: string, to: string): Promise<void> {
  if (existsSync(to)) throw new ApiError('conflict', `copyDisks: ${to} already exists; Vireo never overwrites a disk image`);
  try {
    // 'wx': the open fails if the file appeared meanwhile, so nothing is ever overwritten.
    await pipeline(createReadStream(from), createWriteStream(to, { flags: 'wx' }));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ApiError('conflict', `copyDisks: ${to} already exists; Vireo never overwrites a disk image`);
    await rm(to, { force: true });
    if (code === 'ENOENT') throw new ApiError('not-found', `copyDisks: cannot copy ${from}: it does not exist`);
    throw new ApiError('internal', `copyDisks: cannot copy ${from} to ${to}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Copies every pair (checking first that no target exists and that targets are distinct);
 * on failure removes the copies made so far and rethrows.
 */
export async function copyImages(pairs: readonly { from: string; to: string }[]): Promise<void> {
  const seen = new Set<string>();
  for (const { to } of pairs) {
    if (existsSync(to) || seen.has(to)) throw new ApiError('conflict', `copyDisks: ${to} already exists; Vireo never overwrites a disk image`);
    seen.add(to);
  }
  const done: string[] = [];
  try {
    for (const { from, to } of pairs) {
      await copyImage(from, to);
      done.push(to);
    }
  } catch (err) {
    await Promise.all(done.map((f) => rm(f, { force: true })));
    throw err;
  }
}
