/**
 * Atomic file replacement: the file at `path` is either the old content or the new content,
 * never a mix, even if the process is killed or the machine loses power mid-write.
 *
 * Recipe (the one used by git, SQLite's rollback journals and most config writers):
 *   1. write the new bytes to a temp file in the same directory (same file system, so
 *      rename is atomic),
 *   2. fsync the temp file (its data reaches the disk before its name does),
 *   3. rename the temp file over the target (atomic on POSIX),
 *   4. fsync the directory (the rename itself is durable).
 * On failure before the rename the temp file is removed and the old file is untouched.
 * Temp files are named `.<name>.<random>.tmp`; readers of a directory should skip dot files.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** File-system operations the writer uses; injectable so tests can simulate a crash. */
export interface AtomicFileOps {
  /** Renames `from` to `to`, replacing `to` (fs.promises.rename by default). */
  rename(from: string, to: string): Promise<void>;
}

/** Options for {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Permission bits of a newly created file (default 0o644; an existing file's mode is kept). */
  mode?: number;
  /** Overrides of the file-system operations, for fault-injection tests. */
  ops?: Partial<AtomicFileOps>;
}

const defaultOps: AtomicFileOps = {
  rename: (from, to) => fsp.rename(from, to),
};

/** True if `name` looks like a temp file left by {@link writeFileAtomic} (e.g. after a crash). */
export function isAtomicTempFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/**
 * Replaces the content of `filePath` atomically with `data`.
 * Throws (with the temp file removed) if any step fails; the previous content is then intact.
 */
export async function writeFileAtomic(
  filePath: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const ops: AtomicFileOps = { ...defaultOps, ...options.ops };
  const dir = path.dirname(filePath);
  const tmp = path.join(dir, `.${path.basename(filePath)}.${randomBytes(6).toString('hex')}.tmp`);
  let mode = options.mode ?? 0o644;
  try {
    mode = (await fsp.stat(filePath)).mode & 0o7777;
  } catch {
    // A new file: use the requested mode.
  }
  let renamed = false;
  try {
    const handle = await fsp.open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await ops.rename(tmp, filePath);
    renamed = true;
    await fsyncDirectory(dir);
  } finally {
    if (!renamed) await fsp.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/**
 * Makes a rename or unlink in `dir` durable. Some platforms (Windows) cannot open a
 * directory for fsync; there the call is a no-op, as the file system journals metadata.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
