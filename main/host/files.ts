/**
 * Server-side file browsing for the browser shell's file picker, confined to configured
 * roots (default: the user's home and Vireo's data directory). Every path is resolved
 * with symlinks followed (`realpath`) before the check, so `..`, symlinks and odd
 * spellings cannot leave the roots. Paths that do not exist yet (a new disk image, a
 * download folder's file) are checked through their nearest existing parent.
 */
import { realpathSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApiError, type FileEntry } from '../../protocol/index.js';

/** Largest number of entries one listing returns (the rest is cut, sorted dirs first). */
export const MAX_LIST_ENTRIES = 5000;

/** The folders file access is confined to. */
export class FileRoots {
  /** The roots, absolute and resolved, without duplicates or nesting order guarantees. */
  readonly roots: readonly string[];

  /** @param roots absolute folders; missing ones are dropped */
  constructor(roots: string[]) {
    const resolved: string[] = [];
    for (const r of roots) {
      if (!path.isAbsolute(r)) throw new Error(`file roots: "${r}" is not an absolute path`);
      try {
        const real = realpathSync(r);
        if (!resolved.includes(real)) resolved.push(real);
      } catch {
        // A root that does not exist (yet) offers nothing to browse.
      }
    }
    this.roots = resolved;
  }

  /** The default roots: the user's home and the data directory, plus `VIREO_FILE_ROOTS` (path-list). */
  static defaults(dataDir: string, env: NodeJS.ProcessEnv = process.env): FileRoots {
    const extra = (env['VIREO_FILE_ROOTS'] ?? '').split(path.delimiter).filter((p) => p !== '');
    return new FileRoots([os.homedir(), path.resolve(dataDir), ...extra]);
  }

  /** Whether the resolved path `real` is one of the roots or inside one. */
  private contains(real: string): boolean {
    return this.roots.some((r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
  }

  /**
   * Resolves `p` (absolute) with symlinks followed and checks it stays inside a root;
   * `field` names the parameter in messages. With `mayNotExist`, a missing path is checked
   * through its nearest existing parent. Throws ApiError 'bad-request' / 'not-found'.
   */
  async confine(p: string, field: string, options: { mayNotExist?: boolean } = {}): Promise<string> {
    if (!path.isAbsolute(p)) throw new ApiError('bad-request', `${field}: "${p}" is not an absolute path`);
    const normal = path.resolve(p);
    let existing = normal;
    let rest = '';
    for (;;) {
      try {
        const real = await realpath(existing);
        const full = rest ? path.join(real, rest) : real;
        if (!this.contains(full)) {
          throw new ApiError('bad-request', `${field}: ${p} is outside the folders Vireo may access (${this.roots.join(', ')})`);
        }
        if (rest && !options.mayNotExist) throw new ApiError('not-found', `${field}: ${p} does not exist`);
        return full;
      } catch (err) {
        if (err instanceof ApiError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new ApiError('bad-request', `${field}: ${p}: ${(err as Error).message}`);
        const parent = path.dirname(existing);
        if (parent === existing) throw new ApiError('not-found', `${field}: ${p} does not exist`);
        rest = rest ? path.join(path.basename(existing), rest) : path.basename(existing);
        existing = parent;
      }
    }
  }

  /**
   * Lists `dir` (default: the first root): folders first, then files, by name; hidden
   * (dot) entries and entries whose target leaves the roots are left out.
   */
  async list(dir?: string): Promise<{ dir: string; parent: string | null; roots: string[]; entries: FileEntry[] }> {
    const first = this.roots[0];
    if (first === undefined) throw new ApiError('unsupported', 'files.list: no folder is configured for browsing');
    const real = await this.confine(dir ?? first, 'dir');
    const st = await stat(real);
    if (!st.isDirectory()) throw new ApiError('bad-request', `dir: ${dir ?? real} is not a folder`);
    const entries: FileEntry[] = [];
    for (const d of await readdir(real, { withFileTypes: true })) {
      if (d.name.startsWith('.')) continue;
      const full = path.join(real, d.name);
      let kind: FileEntry['kind'] | null = d.isDirectory() ? 'dir' : d.isFile() ? 'file' : null;
      let sizeBytes = 0;
      try {
        if (d.isSymbolicLink()) {
          const target = await realpath(full);
          if (!this.roots.some((r) => target === r || target.startsWith(r + path.sep))) continue;
        }
        const s = await stat(full);
        kind = s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
        sizeBytes = s.isFile() ? s.size : 0;
      } catch {
        continue; // dangling link or unreadable: not offered
      }
      if (kind) entries.push({ name: d.name, path: full, kind, sizeBytes });
    }
    entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
    const parentDir = path.dirname(real);
    const parent = this.roots.includes(real) || parentDir === real || !this.contains(parentDir) ? null : parentDir;
    return { dir: real, parent, roots: [...this.roots], entries: entries.slice(0, MAX_LIST_ENTRIES) };
  }
}
