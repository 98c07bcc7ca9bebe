import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/chaos.js';

describe('chaos (short run; `npm run chaos` does 10,000 requests)', () => {
  it('under random worker faults and Pool/Registry crashes: no hang, no truncation reported as complete, no worker over its capacity, nothing leaked', async () => {
    const r = await runChaos(1_500, 7, 32);
    expect(r.hung).toBe(0);
    expect(r.truncatedReportedComplete).toBe(0);
    expect(r.errors.untyped).toBeUndefined();
    expect(r.completed + Object.values(r.errors).reduce((a, b) => a + b, 0)).toBe(1_500);
    expect(r.completed).toBeGreaterThan(1_200); // failover keeps most requests whole
    expect(r.crashes.pool + r.crashes.registry).toBeGreaterThan(0);
    expect(r.inflightAtEnd).toBe(0);
    expect(r.queuedAtEnd).toBe(0);
    expect(r.overAdmitted).toBe(0); // no worker ran more streams than its maxConcurrent
    expect(r.liveActorsAtEnd).toBe(0);
    expect(r.pendingTimersAtEnd).toBe(0);
    expect(r.openHandlesAtEnd).toBe(0);
  });
});
