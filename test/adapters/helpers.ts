import type { CompletionChunk, LlmWorker, WorkerError } from '../../src/index.js';

/** Reads one completion from a worker directly: its chunks, their text, and the error it ended with. */
export async function collect(w: LlmWorker, signal: AbortSignal = new AbortController().signal) {
  const chunks: CompletionChunk[] = [];
  let error: WorkerError | undefined;
  try {
    for await (const c of await w.streamCompletion([{ role: 'user', content: 'Hi' }], { signal })) chunks.push(c);
  } catch (e) {
    error = e as WorkerError;
  }
  return { chunks, text: chunks.map((c) => c.text).join(''), error };
}

/** Waits (real time, bounded) for I/O to reach a fake server. */
export async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}
