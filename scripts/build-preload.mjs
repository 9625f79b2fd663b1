// @ts-check
/**
 * Bundles main/electron/preload.ts into dist/main/electron/preload.cjs.
 * Sandboxed preloads cannot load ES modules or our other files, so the preload is one
 * self-contained CommonJS file; only `electron` stays external (the sandbox provides it).
 */
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [path.join(root, 'main/electron/preload.ts')],
  outfile: path.join(root, 'dist/main/electron/preload.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node22',
  external: ['electron'],
  sourcemap: 'inline',
  logLevel: 'warning',
});
