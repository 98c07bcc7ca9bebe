import { ABORTS_PROMPTLY, type CompletionChunk } from '../behaviour/types.js';
import { finishBody } from './http.js';

/**
 * What a read decoded to: the chunks it completes; `final` once the answer is complete (its
 * done chunk is the last one); `error` when the stream failed after those chunks.
 * @internal
 */
export interface Decoded {
  readonly chunks: CompletionChunk[];
  readonly final: boolean;
  readonly error?: unknown;
}

/** A wire protocol's decoding, synchronous per read. @internal */
export interface ChunkDecoder {
  /** Decodes the bytes of one read. */
  push(bytes: Uint8Array): Decoded;
  /** At the end of the body: the last chunks, `final` if complete (else an error: truncated). */
  end(): Decoded;
}

/**
 * Runs `step` over `items`, collecting chunks; an error stops it and is returned after the
 * chunks before it, so none of them is lost. @internal
 */
export function decodeAll<T>(items: readonly T[], step: (item: T, out: CompletionChunk[]) => boolean): Decoded {
  const chunks: CompletionChunk[] = [];
  try {
    for (const item of items) if (step(item, chunks)) return { chunks, final: true };
  } catch (error) {
    return { chunks, final: false, error };
  }
  return { chunks, final: false };
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * The chunks of a response body, as an async iterator written by hand: chunks already decoded
 * are handed out without touching the network, so a read that brings many lines costs one
 * await, not one per line. Ending early cancels the body; after the final chunk the rest of the
 * body is read (briefly) so the connection can be reused. Errors go through `mapError`.
 * @internal
 */
export class ChunkStream implements AsyncIterableIterator<CompletionChunk> {
  readonly [ABORTS_PROMPTLY] = true as const;
  #queue: CompletionChunk[] = [];
  #at = 0;
  #final = false;
  #over = false;
  #error: unknown = undefined;
  #failed = false;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly decoder: ChunkDecoder,
    private readonly mapError: (e: unknown) => unknown,
    private readonly cleanup: () => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<CompletionChunk>> {
    if (this.#at < this.#queue.length) return Promise.resolve({ value: this.#queue[this.#at++]!, done: false });
    if (this.#failed) return this.#fail(this.#error);
    if (this.#final || this.#over) {
      this.#close();
      return Promise.resolve(DONE);
    }
    return this.#fill().then(() => this.next());
  }

  async return(): Promise<IteratorResult<CompletionChunk>> {
    if (!this.#final && !this.#over) {
      this.#over = true;
      this.cleanup();
      await this.reader.cancel().catch(() => {}); // stop now and release the connection
    }
    this.#close();
    return DONE;
  }

  async #fill(): Promise<void> {
    let read: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
    try {
      read = await this.reader.read();
    } catch (e) {
      return this.#fail(e);
    }
    const d = read.done ? this.decoder.end() : this.decoder.push(read.value);
    this.#queue = d.chunks;
    this.#at = 0;
    if (d.error !== undefined || (read.done && !d.final)) {
      // Hand out the chunks before the failure first; `next` raises it after them.
      this.#failed = true;
      this.#error = d.error ?? new Error('the body ended before the answer was complete');
      return;
    }
    if (d.final) {
      this.#final = true;
      this.cleanup();
      await finishBody(this.reader);
    }
  }

  async #fail(e: unknown): Promise<never> {
    this.#failed = false;
    this.#over = true;
    this.#close();
    this.cleanup();
    await this.reader.cancel().catch(() => {});
    throw this.mapError(e);
  }

  #close(): void {
    this.#over = true;
    this.#queue = [];
    this.#at = 0;
  }
}
