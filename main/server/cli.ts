#!/usr/bin/env node
/**
 * `npm run serve`: the Vireo UI in a browser. Serves dist/renderer and the host API and
 * prints the URL with the access token.
 *
 *   node dist/main/server/cli.js [--port N] [--host ADDR] [--data-dir DIR]
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHostApi } from '../host/host-api.js';
import { VmLibrary } from '../host/vm-library.js';
import { vireoVersion } from '../host/version.js';
import { parseServeArgs, type ServeArgs } from './args.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  let args: ServeArgs;
  try {
    args = parseServeArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }
  const staticRoot = fileURLToPath(new URL('../../renderer/', import.meta.url));
  if (!existsSync(path.join(staticRoot, 'index.html'))) {
    console.error(`Vireo: the UI is not built (${path.join(staticRoot, 'index.html')} is missing); run \`npm run build\` first.`);
    process.exit(1);
  }
  const library = await VmLibrary.open({ dataDir: args.dataDir });
  for (const e of library.list().errors) console.error(`Vireo: could not load ${e.file}: ${e.error}`);
  const api = createHostApi({ library, shell: 'server', version: vireoVersion() });
  let server;
  try {
    server = await startServer({ api, staticRoot, host: args.host, port: args.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${args.port} on ${args.host} is in use; pass --port 0 for any free port`, { cause: err });
    }
    throw err;
  }
  console.log(`Vireo is running at ${server.url}`);
  console.log(`Data directory: ${args.dataDir}`);
  const stop = (): void => {
    // Stop every VM (gracefully, then by force) before exiting.
    void server.close().then(() => api.close()).then(() => process.exit(0), (err: unknown) => {
      console.error(`Vireo: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`Vireo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
