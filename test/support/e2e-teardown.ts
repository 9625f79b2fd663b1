/**
 * The end of an end-to-end suite: closes the page (and its context), the browser, stops the
 * browser-shell server and removes its data folder. Anything never started is skipped, so it
 * is safe after a `beforeAll` that failed half-way.
 */
import { rm } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ServerProcess } from './start-server.js';

/** What a suite may have opened. */
export interface E2eParts {
  page?: Page;
  context?: BrowserContext;
  browser?: Browser;
  server?: ServerProcess;
  dataDir?: string;
}

/** Closes `parts` in dependency order (page, context, browser, server, data folder). */
export async function closeE2e(parts: E2eParts): Promise<void> {
  await parts.page?.close();
  await parts.context?.close();
  await parts.browser?.close();
  await parts.server?.stop();
  if (parts.dataDir) await rm(parts.dataDir, { recursive: true, force: true });
}
