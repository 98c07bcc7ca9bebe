import { afterEach, beforeEach, vi } from 'vitest';
import {
  leastLoaded,
  localFirst,
  roundRobin,
  startWorkers,
  type ChatMessage,
  type StreamChunk,
  type DispatchOptions,
  type Dispatcher,
  type InspectionEvent,
  type SelectionStrategy,
  type StartWorkersOptions,
  type Workers,
} from '../../src/index.js';
import type { MockWorker } from '../../src/testing.js';

/** Every built-in strategy, for suites that run over all of them. */
export const builtInStrategies = [
  ['local_first', localFirst],
  ['round_robin', roundRobin],
  ['least_loaded', leastLoaded],
] as ReadonlyArray<readonly [string, SelectionStrategy<unknown>]>;

export const hi: ChatMessage[] = [{ role: 'user', content: 'Hi' }];

export interface Drained {
  chunks: StreamChunk[];
  text: string;
  error: unknown;
}

/** Reads a whole stream, capturing its chunks and the error it ends with, if any. */
export async function drain(dispatcher: Dispatcher, options: DispatchOptions = {}, messages = hi): Promise<Drained> {
  const chunks: StreamChunk[] = [];
  let error: unknown;
  try {
    for await (const c of dispatcher.dispatchStream(messages, options)) chunks.push(c);
  } catch (e) {
    error = e;
  }
  return { chunks, text: chunks.map((c) => c.text).join(''), error };
}

/**
 * A pool of MockWorkers on fake timers for a test file: `start` runs one (health checks off
 * unless asked), `events` holds what it emitted since; it is stopped after each test.
 */
export function useMockPool(): { start(workers: MockWorker[], options?: Omit<StartWorkersOptions, 'workers'>): Promise<Workers>; readonly events: InspectionEvent[] } {
  let running: Workers | undefined;
  let events: InspectionEvent[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    vi.useRealTimers();
  });
  return {
    async start(workers, options = {}) {
      running = await startWorkers({ workers, healthIntervalMs: 0, ...options });
      events = [];
      running.system.inspect((e) => events.push(e));
      return running;
    },
    get events() {
      return events;
    },
  };
}
