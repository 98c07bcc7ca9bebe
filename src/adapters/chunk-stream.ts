import { ABORTS_PROMPTLY, type CompletionChunk } from '../behaviour/types.js';
import { finishBody, type BodyReader } from './http.js';

/**
 * A wire protocol, split in two: a cheap synchronous `split` of each read into items (lines,
 * events), and a `decode` of one item into a chunk, done lazily, one item per `next()`, so the
 * first chunk of a read is handed out before the rest of the read is parsed.
 * @internal
 */
export interface ChunkDecoder<T> {
  /** The items these bytes complete. */
  split(bytes: Uint8Array): T[];
  /** At the end of the body: the last items. */
  splitEnd(): T[];
  /** Set when splitting failed (e.g. an oversized line): raised after the items before it. */
  readonly splitError: unknown;
  /** One item as a chunk (`done: true` on the final one), or undefined for none (a keep-alive, an empty delta). Throws for an error item. */
  decode(item: T): CompletionChunk | undefined;
  /** The body ended before a final chunk: the final chunk if the protocol allows it, else throw (truncated). */
  ended(): CompletionChunk;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * The chunks of a response body, as an async iterator written by hand: the items of a read are
 * decoded one per `next()`, so a read that brings many lines costs one await and the first chunk
 * is not held back by the others. After an abort nothing more is handed out, whatever is already
 * buffered. Ending early cancels the body; after the final chunk the rest
 * of the body is read (briefly) so the connection can be reused. Errors go through `mapError`.
 * @internal
 */
export class ChunkStream<T> implements AsyncIterableIterator<CompletionChunk> {
  readonly [ABORTS_PROMPTLY] = true as const;
  #items: T[] = [];
  #at = 0;
  #eof = false;
  #over = false;

  constructor(
    private readonly reader: BodyReader,
    private readonly decoder: ChunkDecoder<T>,
    private readonly mapError: (e: unknown) => unknown,
    private readonly cleanup: () => void,
    /** Once aborted, nothing more is handed out, not even chunks already read. */
    private readonly signal: AbortSignal,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<CompletionChunk>> {
    if (this.#over) return DONE;
    try {
      for (;;) {
        if (this.signal.aborted) throw this.signal.reason;
        while (this.#at < this.#items.length) {
          const chunk = this.decoder.decode(this.#items[this.#at++]!);
          if (chunk !== undefined) return chunk.done ? this.#final(chunk) : { value: chunk, done: false };
        }
        if (this.decoder.splitError !== undefined) throw this.decoder.splitError;
        if (this.#eof) return this.#final(this.decoder.ended());
        const read = await this.reader.read();
        this.#at = 0;
        if (read.done) {
          this.#eof = true;
          this.#items = this.decoder.splitEnd();
        } else {
          this.#items = this.decoder.split(read.value);
        }
      }
    } catch (e) {
      await this.#stop();
      throw this.mapError(e);
    }
  }

  async return(): Promise<IteratorResult<CompletionChunk>> {
    if (!this.#over) await this.#stop();
    return DONE;
  }

  async #final(chunk: CompletionChunk): Promise<IteratorResult<CompletionChunk>> {
    this.#over = true;
    this.#items = [];
    this.cleanup();
    if (!this.#eof) await finishBody(this.reader); // let the connection finish cleanly, then reuse it
    return { value: chunk, done: false };
  }

  async #stop(): Promise<void> {
    this.#over = true;
    this.#items = [];
    this.cleanup();
    await this.reader.cancel().catch(() => {}); // stop now and release the connection
  }
}
