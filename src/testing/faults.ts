import { checkWorker } from '../registry/registry.js';
import { checkObject } from '../runtime/checks.js';
import type { ChatMessage, CompletionChunk, Health, LlmWorker, StreamOptions, WorkerInfo } from '../behaviour/types.js';
import { WorkerError } from '../errors/pool.js';

/** Faults to inject into a real worker. */
export interface FaultOptions {
  /** Break the stream after this many chunks (on the next `times` requests). */
  failAfterChunks?: number;
  /** Fail before streaming (on the next `times` requests). */
  failOnStart?: boolean;
  /** Report this health instead of asking the worker. */
  health?: Health;
  /** How many requests get the fault; then the worker behaves normally. Default `Infinity`. */
  times?: number;
}

/**
 * Wraps any worker (a real `OllamaWorker` too) to inject faults: the fault-injection kit to
 * run against your own app. Exported from `cortex-otp/testing`.
 * @example
 * const flaky = withFaults(new OllamaWorker(), { failAfterChunks: 3, times: 1 });
 */
export function withFaults(worker: LlmWorker, faults: FaultOptions): LlmWorker & { readonly injected: number } {
  checkWorker(worker, 'worker');
  checkObject(faults, 'faults');
  let left = faults.times ?? Infinity;
  let injected = 0;
  const name = (): string => worker.info().name;
  return {
    get injected() {
      return injected;
    },
    info: (): WorkerInfo => worker.info(),
    priority: () => worker.priority(),
    healthCheck: (signal: AbortSignal) => (faults.health ? Promise.resolve(faults.health) : worker.healthCheck(signal)),
    async streamCompletion(messages: readonly ChatMessage[], opts: StreamOptions): Promise<AsyncIterable<CompletionChunk>> {
      const active = left > 0;
      if (active) left--;
      if (active && faults.failOnStart) {
        injected++;
        throw new WorkerError(name(), 'connection', 'injected fault: failed to start');
      }
      const inner = await worker.streamCompletion(messages, opts);
      const after = faults.failAfterChunks;
      if (!active || after === undefined) return inner;
      return (async function* () {
        let n = 0;
        for await (const c of inner) {
          if (n >= after && c.text !== '') {
            injected++;
            throw new WorkerError(name(), 'connection', `injected fault: stream cut after ${n} chunks`);
          }
          n++;
          yield c;
        }
      })();
    },
  };
}
