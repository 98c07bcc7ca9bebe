/**
 * The NDJSON splitter alone (the Ollama adapter's framing): lines across reads, blank lines,
 * CRLF, UTF-8 split across reads, and the bound on a line, at and past its edge. Mutation testing
 * (docs/MUTATION.md) showed these edges untested. Equivalent survivors, noted: `#fail` clearing
 * the buffer and `end()`'s `if (this.failed)` (nothing is buffered after a failure, so both give
 * the same), `start === 0 ? buf : buf.slice(start)` (`slice(0)` is the same string), and in
 * `exceeds` the `length * 3 > max` shortcut (speed only) and `Buffer.byteLength(s, '')` (utf8 is
 * the default).
 */
import { describe, expect, it } from 'vitest';
import { LineTooLongError, NdjsonSplitter } from '../../src/adapters/ndjson.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('NdjsonSplitter', () => {
  it('splits lines within a read and across reads; a UTF-8 character split across reads is whole', () => {
    const s = new NdjsonSplitter(1 << 20);
    expect(s.push(bytes('{"a":1}\n{"b":2}\n{"c"'))).toEqual(['{"a":1}', '{"b":2}']);
    const euro = bytes('€');
    expect(s.push(new Uint8Array([...bytes(':"x'), euro[0]!]))).toEqual([]);
    expect(s.push(new Uint8Array([...euro.slice(1), ...bytes('"}\n')]))).toEqual(['{"c":"x€"}']);
    expect(s.end()).toBeUndefined();
  });

  it('strips one CR of CRLF, skips blank lines (spaces, tabs, CRs), keeps a line with text as it is', () => {
    const s = new NdjsonSplitter(1 << 20);
    expect(s.push(bytes('one\r\n\n \t \r\n\r\n\r \r\n two \ntab\there\r\r\n'))).toEqual(['one', ' two ', 'tab\there\r']);
  });

  it('gives the last line without a newline at the end, not a blank one; an unfinished character ends as U+FFFD', () => {
    const s = new NdjsonSplitter(100);
    s.push(bytes('{"done":true}'));
    expect(s.end()).toBe('{"done":true}');
    expect(s.end()).toBeUndefined(); // nothing left
    const blank = new NdjsonSplitter(100);
    blank.push(bytes('x\n  \t'));
    expect(blank.end()).toBeUndefined();
    const cut = new NdjsonSplitter(100);
    cut.push(bytes('€').slice(0, 2));
    expect(cut.end()).toBe('\uFFFD');
  });

  it('accepts a line of exactly the bound in bytes, refuses one byte more, counted in UTF-8', () => {
    expect(new NdjsonSplitter(10).push(bytes(`${'a'.repeat(10)}\n`))).toEqual(['a'.repeat(10)]);
    expect(new NdjsonSplitter(10).push(bytes(`${'é'.repeat(5)}\n`))).toEqual(['é'.repeat(5)]); // 10 bytes
    const over = new NdjsonSplitter(10);
    expect(over.push(bytes(`ok\n${'é'.repeat(6)}\nlater\n`))).toEqual(['ok']); // 12 bytes: the lines before it, nothing after
    expect(over.failed).toBeInstanceOf(LineTooLongError);
    expect(over.failed!.message).toBe('a line exceeded 10 bytes');
  });

  it('refuses a line over the bound before its newline comes (no unbounded buffering); after that, nothing', () => {
    const s = new NdjsonSplitter(10);
    expect(s.push(bytes('fine\n0123456789'))).toEqual(['fine']); // 10 bytes buffered: still within
    expect(s.failed).toBeUndefined();
    expect(s.push(bytes('X'))).toEqual([]); // 11 bytes, no newline yet
    expect(s.failed).toBeInstanceOf(LineTooLongError);
    expect(s.push(bytes('\nvalid\n'))).toEqual([]);
    expect(s.end()).toBeUndefined();
  });
});
