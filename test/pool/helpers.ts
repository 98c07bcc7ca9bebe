import { leastLoaded, localFirst, roundRobin, type ChatMessage, type StreamChunk, type DispatchOptions, type Dispatcher, type SelectionStrategy } from '../../src/index.js';

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
