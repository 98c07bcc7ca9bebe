import type { ChatMessage, StreamChunk, DispatchOptions, Dispatcher } from '../../src/index.js';

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
