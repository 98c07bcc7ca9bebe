import { onFirstUse } from '../lazy-require.js';
import type { EventSourceMessage, EventSourceParser } from 'eventsource-parser';
import { LineTooLongError } from './ndjson.js';
import { ChunkStream, type ChunkDecoder } from './chunk-stream.js';
import type { BodyReader } from './http.js';

/**
 * eventsource-parser, required when the first server-sent-events stream is read (only the
 * OpenAI-compatible and Anthropic workers read one): importing cortex does not pay for it.
 */
const eventsourceParser = onFirstUse<typeof import('eventsource-parser')>('eventsource-parser');

/** What the SSE reader yields: an event, or a comment (a keep-alive such as `: ping`). @internal */
export type SseItem = { readonly kind: 'event'; readonly event: EventSourceMessage } | { readonly kind: 'comment' };

/**
 * Server-sent events from a byte stream, parsed by `eventsource-parser` (CRLF, comments,
 * multi-line `data`, `event:` fields, events split across reads), synchronously per read. The
 * bytes buffered for one unfinished event are bounded: past `maxEventBytes`,
 * {@link LineTooLongError} is thrown. An unterminated last event is not returned (as the SSE
 * spec says): the caller sees the end of the stream.
 * @internal
 */
export class SseSplitter {
  readonly #decoder = new TextDecoder('utf-8');
  readonly #parser: EventSourceParser;
  #out: SseItem[] = [];
  #pending = 0;

  constructor(readonly maxEventBytes: number) {
    this.#parser = eventsourceParser().createParser({
      onEvent: (event) => {
        this.#out.push({ kind: 'event', event });
        this.#pending = 0;
      },
      onComment: () => {
        this.#out.push({ kind: 'comment' });
        this.#pending = 0;
      },
    });
  }

  /** The events and comments that `bytes` completes. */
  push(bytes: Uint8Array): SseItem[] {
    this.#pending += bytes.byteLength;
    this.#parser.feed(this.#decoder.decode(bytes, { stream: true }));
    return this.#take();
  }

  /** At the end of the stream: whatever the last bytes completed. */
  end(): SseItem[] {
    this.#parser.feed(this.#decoder.decode());
    return this.#take();
  }

  #take(): SseItem[] {
    const out = this.#out;
    this.#out = [];
    if (this.#pending > this.maxEventBytes) throw new LineTooLongError(this.maxEventBytes);
    return out;
  }
}

/**
 * The chunks of a server-sent-events body: events split by {@link SseSplitter} (an oversized one
 * raised after the events before it), each decoded by `decode`; `ended` says what a body that
 * ends without the protocol's last event means. @internal
 */
export function sseChunks(
  body: BodyReader,
  maxEventBytes: number,
  protocol: Pick<ChunkDecoder<SseItem>, 'decode' | 'ended'>,
  io: { readonly mapError: (e: unknown) => unknown; readonly cleanup: () => void; readonly signal: AbortSignal },
): ChunkStream<SseItem> {
  const sse = new SseSplitter(maxEventBytes);
  let splitError: unknown;
  const guard = (f: () => SseItem[]): SseItem[] => {
    try {
      return f();
    } catch (e) {
      splitError = e; // an oversized event
      return [];
    }
  };
  const decoder: ChunkDecoder<SseItem> = {
    split: (bytes) => guard(() => sse.push(bytes)),
    splitEnd: () => guard(() => sse.end()),
    get splitError() {
      return splitError;
    },
    decode: (item) => protocol.decode(item),
    ended: () => protocol.ended(),
  };
  return new ChunkStream(body, decoder, io.mapError, io.cleanup, io.signal);
}
