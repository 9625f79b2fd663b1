/**
 * Where Vireo keeps its data (VM documents under `vms/`, later disk images and settings).
 *
 * Precedence: `--data-dir DIR` (or `--data-dir=DIR`) > `$VIREO_DATA_DIR` >
 * `$XDG_DATA_HOME/vireo` (XDG base directory spec; ignored unless absolute) >
 * `~/.local/share/vireo`.
 */
import os from 'node:os';
import path from 'node:path';

/** Inputs of {@link resolveDataDir}; every field defaults to the current process. */
export interface DataDirInputs {
  /** Command-line arguments to scan for `--data-dir`. */
  argv?: readonly string[];
  /** Environment to read VIREO_DATA_DIR and XDG_DATA_HOME from. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The user's home directory. */
  homedir?: string;
}

/** Value of `--data-dir` in `argv`, or undefined. Throws if the flag has no value. */
export function dataDirFlag(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--data-dir') {
      const value = argv[i + 1];
      if (value === undefined || value === '' || value.startsWith('--')) {
        throw new Error('--data-dir: expected a directory after the flag');
      }
      found = value;
      i++;
    } else if (arg.startsWith('--data-dir=')) {
      found = arg.slice('--data-dir='.length);
      if (found === '') throw new Error('--data-dir: expected a directory after "="');
    }
  }
  return found;
}

/** Resolves the absolute data directory (see the module comment for the precedence). */
export function resolveDataDir(inputs: DataDirInputs = {}): string {
  const argv = inputs.argv ?? process.argv.slice(2);
  const env = inputs.env ?? process.env;
  const flag = dataDirFlag(argv);
  if (flag !== undefined) return path.resolve(flag);
  const fromEnv = env['VIREO_DATA_DIR'];
  if (fromEnv) return path.resolve(fromEnv);
  const xdg = env['XDG_DATA_HOME'];
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'vireo');
  return path.join(inputs.homedir ?? os.homedir(), '.local', 'share', 'vireo');
}
