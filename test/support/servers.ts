import { afterEach } from 'vitest';
import { startWorkers, type InspectionEvent, type LlmWorker, type StartWorkersOptions, type Workers } from '../../src/index.js';
import { startFakeOllama, startFakeOpenAI, type FakeOllama, type FakeOpenAI } from '../../src/testing.js';

/**
 * Fake servers and pools for a test file, each stopped after its test (in reverse order).
 * Call once at the top of a test file.
 */
export function useServers(): {
  ollama(options?: Parameters<typeof startFakeOllama>[0]): Promise<FakeOllama>;
  openai(options?: Parameters<typeof startFakeOpenAI>[0]): Promise<FakeOpenAI>;
  start(workers: LlmWorker[], options?: Omit<StartWorkersOptions, 'workers'>): Promise<{ cortex: Workers; events: InspectionEvent[] }>;
} {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  return {
    async ollama(options = {}) {
      const s = await startFakeOllama(options);
      closers.push(() => s.close());
      return s;
    },
    async openai(options = {}) {
      const s = await startFakeOpenAI(options);
      closers.push(() => s.close());
      return s;
    },
    async start(workers, options = {}) {
      const cortex = await startWorkers({ workers, healthIntervalMs: 0, ...options });
      closers.push(() => cortex.stop({ drainMs: 0 }));
      const events: InspectionEvent[] = [];
      cortex.system.inspect((e) => events.push(e));
      return { cortex, events };
    },
  };
}
