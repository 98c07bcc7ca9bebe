import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

/**
 * Headless Chromium for a test file: Debian's `chromium` (`CHROMIUM_PATH`, default
 * `/usr/bin/chromium`) driven by playwright-core, no browser download; launched before the file's
 * tests and closed after them. Call once at the top of a test file.
 */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (browser === undefined) throw new Error('the browser is not started yet (use it inside a test)');
    return browser;
  };
}
