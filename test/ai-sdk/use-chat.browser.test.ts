/**
 * `useChat`'s server side over the pool, read by a real browser: examples/ai-sdk.ts serves
 * `streamText(...)`'s UI message stream at `POST /api/chat`; headless Chromium (Debian's, driven
 * by playwright-core) posts a message and renders the text deltas as they come.
 */
import { describe, expect, it } from 'vitest';
import { useBrowser } from '../support/browser.js';
import { startChatServer } from '../../examples/ai-sdk.js';
import { MockWorker } from '../../src/testing.js';

const browser = useBrowser();

describe('useChat\'s server side, in Chromium', () => {
  it('the page gets the answer streamed; the failover behind it is invisible', async () => {
    const chat = await startChatServer({ workers: [new MockWorker({ name: 'spare', chunks: ['Streamed', ' through', ' the', ' AI SDK'], delayMs: 20 })] });
    const page = await browser().newPage();
    try {
      await page.goto(chat.url);
      await page.fill('#prompt', 'Hello there');
      await page.click('#send');
      await expect.poll(() => page.locator('#answer').getAttribute('data-done'), { timeout: 10_000 }).toBe('true');
      expect(await page.locator('#answer').textContent()).toBe('Streamed through the AI SDK');
      const status = await chat.workers.dispatcher.status();
      expect(status.workers.find((w) => w.name === 'always-broken')).toMatchObject({ failures: 1 });
      expect(status.workers.find((w) => w.name === 'spare')).toMatchObject({ successes: 1 });
    } finally {
      await page.close();
      await chat.stop();
    }
  }, 30_000);
});
