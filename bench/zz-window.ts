import { lib } from './lib.js';
const rules = { failureThreshold: Number.MAX_SAFE_INTEGER, resetMs: 1 };
const limits = { maxConcurrent: Infinity, rpm: 1e9, tpm: Infinity };
const once = async (store: InstanceType<typeof lib.MemoryStore>): Promise<void> => {
  const a = await store.admit({ candidates: [{ name: 'k', limits }], tokens: 10 });
  if (a.kind === 'admitted') await store.release(a.lease, { kind: 'success', tokens: 12 }, rules);
};
for (const n of [10, 20_000]) {
  const store = new lib.MemoryStore();
  for (let i = 0; i < n; i++) await once(store);
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) await once(store);
  console.log(`${n} in window: ${((performance.now() - t0) * 1000 / 2000).toFixed(2)} us per admission + release`);
  await store.close();
}
