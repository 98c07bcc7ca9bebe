/** An NDJSON line longer than the bound. @internal */
export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`a line exceeded ${limit} bytes`);
  }
}

/**
 * Splits a byte stream into NDJSON lines: lines split across reads, several lines in one
 * read, UTF-8 characters split across reads, `\r\n` endings and blank lines are all
 * handled. A line longer than `maxLineBytes` throws {@link LineTooLongError} instead of
 * buffering without bound. A last line without a newline is yielded too (the caller decides
 * whether it is complete).
 * @internal
 */
export async function* ndjsonLines(body: AsyncIterable<Uint8Array>, maxLineBytes: number): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let buf = '';
  for await (const bytes of body) {
    buf += decoder.decode(bytes, { stream: true });
    let start = 0;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n', start)) {
      const line = trimCR(buf.slice(start, nl));
      start = nl + 1;
      if (exceeds(line, maxLineBytes)) throw new LineTooLongError(maxLineBytes);
      if (line.trim() !== '') yield line;
    }
    buf = buf.slice(start);
    if (exceeds(buf, maxLineBytes)) throw new LineTooLongError(maxLineBytes);
  }
  buf += decoder.decode();
  const last = trimCR(buf);
  if (last.trim() !== '') yield last;
}

function trimCR(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

/** True when `s` is longer than `max` bytes in UTF-8; a UTF-16 unit takes at most 3 bytes, so short strings skip the count. */
function exceeds(s: string, max: number): boolean {
  return s.length * 3 > max && Buffer.byteLength(s, 'utf8') > max;
}
