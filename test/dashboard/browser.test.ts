/**
 * The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core with
 * the system executable (no browser download). It runs the `npm run dashboard` demo.
 */
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useBrowser } from '../support/browser.js';
import { startDemo } from '../../examples/dashboard.js';
import { serveDashboard } from '../../src/dashboard.js';
import { serveGateway } from '../../src/gateway.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { start } = useServers();
const browser = useBrowser();

describe('the dashboard in Chromium', () => {
  it('shows every worker, the request count rising, a worker turning red when it fails and green when it recovers', async () => {
    // 8 a second keeps the flaky worker under its maxConcurrent of 2 (at 20, a loaded machine holds it at capacity: amber).
    const demo = await startDemo({ rps: 8, flapEveryMs: 0 });
    const page = await browser().newPage({ viewport: { width: 1280, height: 720 } });
    try {
      await page.goto(demo.dashboard.url);
      const rows = page.locator('tr[data-worker]');
      await expect.poll(() => rows.count(), { timeout: 5000 }).toBe(3);
      expect((await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-worker')))).sort()).toEqual(['cloud-a', 'cloud-b', 'local-gpu']);
      const total = (): Promise<number> => page.locator('td.requests').evaluateAll((tds) => tds.reduce((n, td) => n + Number(td.textContent), 0));
      const before = await total();
      await expect.poll(total, { timeout: 5000 }).toBeGreaterThan(before + 5);
      const gpu = page.locator('tr[data-worker="local-gpu"]');
      await demo.setBroken(true);
      await expect.poll(() => gpu.getAttribute('data-color'), { timeout: 5000 }).toBe('red');
      expect(await gpu.textContent()).toContain('GPU out of memory (simulated)');
      await demo.setBroken(false);
      // Recovered: green, or amber only because it is busy again at its maxConcurrent (a loaded machine).
      const recovered = async (): Promise<boolean> => (await gpu.getAttribute('data-color')) === 'green' || (await gpu.textContent())!.includes('at capacity');
      await expect.poll(recovered, { timeout: 10_000 }).toBe(true);
      await expect.poll(() => page.locator('#recent li').count()).toBeGreaterThan(0);
      expect(await page.locator('#waits').textContent()).toMatch(/^\d+( \(p95 \d+ ms\))?$/); // queue waits, and their p95 once there are some
      mkdirSync('test/.artifacts', { recursive: true });
      await page.screenshot({ path: 'test/.artifacts/dashboard.png', fullPage: true });
    } finally {
      await page.close();
      await demo.stop();
    }
  }, 30_000);

  it("shows each worker's tokens and cost, as many as were driven through the pool, its last minute against its rpm and tpm, and its whole-answer time", async () => {
    const priced = new MockWorker({ name: 'priced', usage: { promptTokens: 100, completionTokens: 50 }, price: { inputPerMTok: 2, outputPerMTok: 10 }, limits: { rpm: 60, tpm: 100_000 } });
    const { cortex } = await start([priced, new MockWorker({ name: 'local', tags: ['local'], usage: { promptTokens: 7, completionTokens: 3 } })]);
    const dash = await serveDashboard(cortex, { token: 'a-long-enough-token' });
    for (let i = 0; i < 4; i++) await cortex.dispatcher.complete([{ role: 'user', content: `q${i}` }], { route: 'priced' });
    await cortex.dispatcher.complete([{ role: 'user', content: 'q' }], { route: 'local' });
    const page = await browser().newPage();
    try {
      await page.goto(`${dash.url}?token=a-long-enough-token`);
      const cell = (worker: string, cls: string): Promise<string | null> => page.locator(`tr[data-worker="${worker}"] td.${cls}`).textContent();
      await expect.poll(() => cell('priced', 'tokens'), { timeout: 5000 }).toBe('400 / 200');
      expect(await cell('priced', 'cost')).toBe(`$${((400 * 2 + 200 * 10) / 1e6).toFixed(4)}`);
      expect(await cell('local', 'tokens')).toBe('7 / 3');
      expect(await cell('local', 'cost')).toBe('-'); // no price: the cost is unknown, never guessed
      expect(await cell('priced', 'rate')).toBe('4 / 60 req, 600 / 100000 tok'); // the last minute against its limits
      expect(await cell('local', 'rate')).toBe('-'); // no rpm or tpm
      expect(await cell('priced', 'total')).toMatch(/^\d+ \/ \d+ ms$/); // whole-answer time p50 / p95
    } finally {
      await page.close();
      await dash.close();
    }
  });

  it('shows a worker named like HTML as text: nothing of it runs', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const { cortex } = await start([new MockWorker({ name: evil, health: { status: 'unavailable', reason: '<script>alert(2)</script>' } })]);
    await cortex.dispatcher.checkHealth();
    const dash = await serveDashboard(cortex, { token: 'a-long-enough-token' });
    const page = await browser().newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    try {
      await page.goto(`${dash.url}?token=a-long-enough-token`);
      await expect.poll(() => page.locator('tr[data-worker]').count(), { timeout: 5000 }).toBe(1);
      expect(await page.locator('td.name').textContent()).toBe(evil);
      expect(await page.locator('tr[data-worker] td').nth(2).textContent()).toContain('<script>alert(2)</script>');
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('main script').count()).toBe(0);
      expect(dialogs).toEqual([]);
    } finally {
      await page.close();
      await dash.close();
    }
  }, 30_000);

  it('sends its Content-Security-Policy as a header (hashes, no unsafe-inline) and the page still works under it', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const dash = await serveDashboard(cortex);
    const page = await browser().newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    try {
      const res = await fetch(dash.url);
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const d of ["default-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "object-src 'none'", "connect-src 'self'"]) expect(csp).toContain(d);
      expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(await res.text()).not.toContain('http-equiv="Content-Security-Policy"');
      await page.goto(dash.url);
      await expect.poll(() => page.locator('tr[data-worker]').count(), { timeout: 5000 }).toBe(1); // the script ran
      expect(await page.locator('h2').first().evaluate((h) => (globalThis as unknown as { getComputedStyle(e: unknown): { textTransform: string } }).getComputedStyle(h).textTransform)).toBe('uppercase'); // the style applies
      expect(violations).toEqual([]);
    } finally {
      await page.close();
      await dash.close();
    }
  }, 30_000);

  it('logs each request with its key, workers and outcome, filtered by outcome, key and worker; laid out at 1280x800 and on a 390x844 phone', async () => {
    const primary = new MockWorker({ name: 'primary', priority: 1, failOnStart: 2, usage: { promptTokens: 10, completionTokens: 5 } });
    const backup = new MockWorker({ name: 'backup', priority: 2, usage: { promptTokens: 10, completionTokens: 5 }, price: { inputPerMTok: 1, outputPerMTok: 2 } });
    const { cortex } = await start([primary, backup]);
    const dash = await serveDashboard(cortex);
    for (let i = 0; i < 3; i++) await cortex.dispatcher.complete([{ role: 'user', content: `q${i}` }], { tenant: 'team-a' }); // two fail over to backup
    await cortex.dispatcher.complete([{ role: 'user', content: 'q' }], { tenant: 'team-b', route: 'gpu' }).catch(() => undefined); // no worker has the tag
    const page = await browser().newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await page.goto(dash.url);
      const rows = page.locator('#log tr');
      await expect.poll(() => rows.count(), { timeout: 5000 }).toBe(4);
      const cells = (): Promise<string[][]> => rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      const [gpu, third, second] = await cells();
      expect(gpu!.slice(1, 5)).toEqual(['team-b', 'gpu', '-', 'no_workers']);
      expect(third!.slice(1, 7)).toEqual(['team-a', '-', 'primary', 'complete', '10 / 5', '-']);
      expect(second!.slice(1, 7)).toEqual(['team-a', '-', 'primary \u2192 backup', 'complete', '10 / 5', '$0.000020']);
      await page.selectOption('#f-key', 'team-b');
      expect(await rows.count()).toBe(1);
      await page.selectOption('#f-key', '');
      await page.selectOption('#f-worker', 'backup');
      expect(await rows.count()).toBe(2);
      await page.selectOption('#f-outcome', 'no_workers');
      expect(await rows.count()).toBe(0); // both filters apply
      await page.selectOption('#f-worker', '');
      expect(await rows.count()).toBe(1);
      await page.selectOption('#f-outcome', '');
      // The last hour: charts with axes (a round top: 5 for 4 requests) and the errors by type.
      expect(await page.locator('#trend-requests').getAttribute('data-max')).toBe('5');
      expect(await page.locator('#trend-requests text.tick').allTextContents()).toEqual(expect.arrayContaining(['0', '2.5', '5']));
      expect(await page.locator('#trend-requests polyline[data-series="requests"]').getAttribute('points')).toMatch(/^\d+(\.\d)?,\d+(\.\d)?/);
      expect(await page.locator('#error-types tr[data-type="attempt: http 500"] td.count').textContent()).toBe('2');
      expect(await page.locator('#error-types tr[data-type="request: no_workers"] td.count').textContent()).toBe('1');
      mkdirSync('test/.artifacts', { recursive: true });
      await page.screenshot({ path: 'test/.artifacts/dashboard-log.png', fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      // On a phone the page does not scroll sideways: wide tables scroll inside their panel.
      await expect.poll(() => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      // A narrow cell wraps between names, never inside one ("back" / "up" read as two workers).
      const linesOfBackup = await page.evaluate(() => {
        type Text = { textContent: string };
        type Doc = {
          querySelectorAll(s: string): Iterable<{ textContent: string; firstChild: Text }>;
          createRange(): { setStart(n: Text, at: number): void; setEnd(n: Text, at: number): void; getClientRects(): Iterable<{ top: number }> };
        };
        const doc = (globalThis as unknown as { document: Doc }).document;
        const text = [...doc.querySelectorAll('#log td.name')].find((td) => td.textContent.includes('backup'))!.firstChild;
        const range = doc.createRange();
        const at = text.textContent.indexOf('backup');
        range.setStart(text, at);
        range.setEnd(text, at + 'backup'.length);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
      });
      expect(linesOfBackup).toBe(1);
      // The charts are drawn at the size they are shown: their 11 px labels are not shrunk to half on a phone.
      await expect.poll(() => page.locator('#trend-requests text.tick').first().evaluate((t) => (t as unknown as { getBoundingClientRect(): { height: number } }).getBoundingClientRect().height), { timeout: 5000 }).toBeGreaterThanOrEqual(10);
      await page.screenshot({ path: 'test/.artifacts/dashboard-phone.png', fullPage: true });
    } finally {
      await page.close();
      await dash.close();
    }
  }, 30_000);

  it("shows each gateway key's usage against its budget, the bar filled under the page's CSP", async () => {
    const { cortex } = await start([new MockWorker({ name: 'w', usage: { promptTokens: 100, completionTokens: 50 } })]);
    const gateway = await serveGateway(cortex, { keys: [{ id: 'team-a', key: 'team-a-secret-key', budget: { tokens: 1000, per: 'day' } }, { id: 'team-b', key: 'team-b-secret-key' }] });
    const dash = await serveDashboard(cortex, { keys: gateway });
    const page = await browser().newPage({ viewport: { width: 1280, height: 800 } });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    try {
      for (const key of ['team-a-secret-key', 'team-a-secret-key', 'team-b-secret-key']) {
        const res = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'any', messages: [{ role: 'user', content: 'hi' }] }) });
        expect(res.status).toBe(200);
      }
      await page.goto(dash.url);
      const budget = page.locator('tr[data-key="team-a"] td.budget');
      await expect.poll(() => budget.textContent(), { timeout: 5000 }).toBe('300 / 1000 tokens a day (30 %)');
      expect(await page.locator('tr[data-key="team-a"] td').nth(2).textContent()).toBe('2');
      expect(await page.locator('tr[data-key="team-b"] td.budget').textContent()).toBe('none');
      // Polled: the panel is drawn again on each tick, and a bar read while it is replaced measures 0 / 0.
      const filled = (): Promise<number> => budget.locator('span.bar').evaluate((b) => b.firstElementChild!.getBoundingClientRect().width / b.getBoundingClientRect().width);
      await expect.poll(filled, { timeout: 5000 }).toBeCloseTo(0.3, 1);
      expect(await page.content()).not.toContain('secret-key');
      expect(violations).toEqual([]);
      await page.screenshot({ path: 'test/.artifacts/dashboard-keys.png', fullPage: true });
    } finally {
      await page.close();
      await dash.close();
      await gateway.close();
    }
  }, 30_000);
});
