#!/usr/bin/env node
// The `vireo` command line: a thin launcher for the compiled CLI in dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main/cli/vireo.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('vireo: not built yet; run `npm run build` in the Vireo checkout first');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
