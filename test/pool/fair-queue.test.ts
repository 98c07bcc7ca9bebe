/**
 * Fairness between tenants when every worker is at its limits: one tenant (a gateway key) holds
 * at most its share of the queue (`maxQueuePerTenant`, half of `maxQueue` by default), and the
 * tenants waiting are served in turn, not in the order one burst arrived.
 */
import { describe, expect, it } from 'vitest';
import { isQueueFullError } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { start } = useServers();

describe('the queue between tenants', () => {
  it("a greedy tenant's burst takes its share of the queue, not every place; the tenants are served in turn", async () => {
    const w = new MockWorker({ name: 'one', chunks: ['ok'], delayMs: 20, limits: { maxConcurrent: 1 } });
    const { cortex } = await start([w], { maxQueue: 6 });
    const ask = (tenant: string, n: number) => cortex.dispatcher.complete([{ role: 'user', content: `${tenant} ${n}` }], { tenant }).then(
      () => 'ok',
      (e: unknown) => e,
    );
    const running = ask('greedy', 0); // takes the one slot
    await new Promise((r) => setTimeout(r, 5));
    const greedy = [1, 2, 3, 4, 5, 6].map((n) => ask('greedy', n));
    await new Promise((r) => setTimeout(r, 5));
    const light = [1, 2].map((n) => ask('light', n));
    const outcomes = await Promise.all([running, ...greedy, ...light]);
    const refused = outcomes.filter((o) => o !== 'ok');
    expect(refused).toHaveLength(3); // greedy 4, 5, 6: its share of 6 places is 3
    for (const e of refused) expect(isQueueFullError(e) && e).toMatchObject({ tenant: 'greedy', maxQueue: 3, depth: 3 });
    expect(String((refused[0] as Error).message)).toContain('tenant greedy holds its share of the queue');
    expect(outcomes.slice(-2)).toEqual(['ok', 'ok']); // the light tenant got in
    const served = w.calls.map((c) => String(c.messages[0]!.content));
    expect(served).toEqual(['greedy 0', 'greedy 1', 'light 1', 'greedy 2', 'light 2', 'greedy 3']);
  });

  it('without tenants the queue is one FIFO, as before; maxQueuePerTenant is checked', async () => {
    const w = new MockWorker({ name: 'one', chunks: ['ok'], delayMs: 10, limits: { maxConcurrent: 1 } });
    const { cortex } = await start([w], { maxQueue: 3 });
    const all = await Promise.all([0, 1, 2, 3].map((n) => cortex.dispatcher.complete([{ role: 'user', content: `q${n}` }])));
    expect(all).toHaveLength(4);
    expect(w.calls.map((c) => String(c.messages[0]!.content))).toEqual(['q0', 'q1', 'q2', 'q3']);
    await expect(start([w], { maxQueuePerTenant: 0 })).rejects.toThrow(/maxQueuePerTenant/);
  });
});
