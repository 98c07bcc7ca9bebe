/**
 * The SSE splitter alone (the OpenAI-compatible and Anthropic adapters' framing): the bound on the
 * bytes of one unfinished event, at and past its edge.
 *
 * Equivalent survivor, noted: the decoder's final flush in `end()` (the SSE spec drops an
 * unterminated last event, so whatever the flush adds completes nothing).
 */
import { describe, expect, it } from 'vitest';
import { SseSplitter } from '../../src/adapters/sse.js';
import { LineTooLongError } from '../../src/adapters/ndjson.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('SseSplitter', () => {
  it('holds an unfinished event of exactly maxEventBytes; one byte more is refused', () => {
    const at = new SseSplitter(10);
    expect(at.push(bytes('data: 1234'))).toEqual([]); // 10 bytes, no event yet
    expect(at.push(bytes('\n\n'))).toMatchObject([{ kind: 'event', event: { data: '1234' } }]);
    const over = new SseSplitter(10);
    expect(() => over.push(bytes('data: 12345'))).toThrow(LineTooLongError);
  });

  it('counts the bound per event: a completed event starts the count again', () => {
    const s = new SseSplitter(12);
    expect(s.push(bytes('data: a\n\n'))).toHaveLength(1);
    expect(s.push(bytes('data: 123456'))).toEqual([]); // 12 bytes of the next event
    expect(s.push(bytes('\n\n'))).toMatchObject([{ kind: 'event', event: { data: '123456' } }]);
    expect(s.end()).toEqual([]);
  });
});
