/**
 * Chromium for end-to-end tests: Debian's /usr/bin/chromium driven by playwright-core.
 * Keep one browser at a time (shared CI cores).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Debian's chromium package installs the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why browser tests are skipped on this machine, or null if they can run. */
export function chromiumSkipReason(): string | null {
  return existsSync(CHROMIUM_PATH)
    ? null
    : `${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install chromium) to run browser tests`;
}

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** Collects the page's uncaught errors and console errors into `errors` (checked at the end of a suite). */
export function collectPageErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
}
