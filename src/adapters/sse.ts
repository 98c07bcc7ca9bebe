import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { LineTooLongError } from './ndjson.js';

/** What the SSE reader yields: an event, or a comment (a keep-alive such as `: ping`). @internal */
export type SseItem = { readonly kind: 'event'; readonly event: EventSourceMessage } | { readonly kind: 'comment' };

/**
 * Server-sent events from a byte stream, parsed by `eventsource-parser` (CRLF, comments,
 * multi-line `data`, `event:` fields, events split across reads). The bytes buffered for one
 * unfinished event are bounded: past `maxEventBytes`, {@link LineTooLongError} is thrown.
 * An unterminated last event is not yielded (as the SSE spec says): the caller sees the end.
 * @internal
 */
export async function* sseEvents(body: AsyncIterable<Uint8Array>, maxEventBytes: number): AsyncGenerator<SseItem> {
  const decoder = new TextDecoder('utf-8');
  let queue: SseItem[] = [];
  let pending = 0;
  const parser = createParser({
    onEvent: (event) => {
      queue.push({ kind: 'event', event });
      pending = 0;
    },
    onComment: () => {
      queue.push({ kind: 'comment' });
      pending = 0;
    },
  });
  for await (const bytes of body) {
    pending += bytes.byteLength;
    parser.feed(decoder.decode(bytes, { stream: true }));
    if (queue.length > 0) {
      const items = queue;
      queue = [];
      yield* items;
    }
    if (pending > maxEventBytes) throw new LineTooLongError(maxEventBytes);
  }
  parser.feed(decoder.decode());
  yield* queue;
}
