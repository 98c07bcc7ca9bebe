import { lazy } from '../lazy-zod.js';
import { parseWith } from '../behaviour/validate.js';
import { messageText, type ChatMessage, type CompletionChunk, type Health, type LlmWorker, type StreamOptions, type WorkerInfo } from '../behaviour/types.js';

/** Options of {@link DemoWorker}. */
export interface DemoWorkerOptions {
  /** Default `'demo'`. */
  name?: string;
  /** Default 1000: used only when nothing else is available. */
  priority?: number;
  /** Real ms between words, to look like streaming. Default 25. */
  delayMs?: number;
}

const schema = lazy((z) =>
  z
    .object({
      name: z.string().trim().min(1).default('demo'),
      priority: z.number().finite().default(1000),
      delayMs: z.number().finite().nonnegative().default(25),
    })
    .strict(),
);

/**
 * A worker with no model behind it, for examples on a machine without any LLM server. It
 * says plainly that it is a demo, then echoes the question, word by word.
 */
export class DemoWorker implements LlmWorker {
  readonly #name: string;
  readonly #priority: number;
  readonly #delayMs: number;

  /** @throws ValidationError for bad options (naming the field). */
  constructor(options: DemoWorkerOptions = {}) {
    const o = parseWith(schema, options, 'DemoWorker options');
    this.#name = o.name;
    this.#priority = o.priority;
    this.#delayMs = o.delayMs;
  }

  info(): WorkerInfo {
    return { name: this.#name, kind: 'demo', models: ['demo'] };
  }

  priority(): number {
    return this.#priority;
  }

  async healthCheck(): Promise<Health> {
    return { status: 'available' };
  }

  async streamCompletion(messages: readonly ChatMessage[], opts: StreamOptions): Promise<AsyncIterable<CompletionChunk>> {
    // Asked to continue a broken answer (assistant partial, then an instruction)? Continue it.
    const partial = messages.at(-2)?.role === 'assistant' ? messageText(messages.at(-2)!) : undefined;
    const answer = (upTo: readonly ChatMessage[]): string =>
      `(This is cortex's built-in demo worker, not a language model: no LLM server answered. ` +
      `Start Ollama (https://ollama.com) and pull a model for real answers.) You said: "${
        messageText([...upTo].reverse().find((m) => m.role === 'user') ?? { role: 'user', content: '' })
      }"`;
    const full = partial === undefined ? answer(messages) : answer(messages.slice(0, -2));
    const continuing = partial !== undefined && partial.length < full.length && full.startsWith(partial);
    const text = continuing ? full.slice(partial.length) : answer(messages);
    const words = text.split(/(?<= )/);
    const delay = this.#delayMs;
    const signal = opts.signal;
    return (async function* () {
      for (const w of words) {
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        signal.throwIfAborted();
        yield { text: w };
      }
      yield { text: '', done: true, finishReason: 'stop' as const };
    })();
  }
}
