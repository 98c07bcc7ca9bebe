/** An NDJSON line longer than the bound. @internal */
export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`a line exceeded ${limit} bytes`);
  }
}

/**
 * Splits a byte stream into NDJSON lines, synchronously per read: lines split across reads,
 * several lines in one read, UTF-8 characters split across reads, `\r\n` endings and blank
 * lines are all handled. A line longer than `maxLineBytes` stops the splitting (see
 * {@link NdjsonSplitter.failed}) instead of buffering without bound.
 * @internal
 */
export class NdjsonSplitter {
  readonly #decoder = new TextDecoder('utf-8');
  #buf = '';
  /** Set once a line went over the bound: the lines before it were returned, nothing after. */
  failed: LineTooLongError | undefined = undefined;

  constructor(readonly maxLineBytes: number) {}

  /** The complete lines that `bytes` finishes (blank ones skipped). */
  push(bytes: Uint8Array): string[] {
    if (this.failed) return [];
    const buf = this.#buf + this.#decoder.decode(bytes, { stream: true });
    const lines: string[] = [];
    let start = 0;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n', start)) {
      const line = trimCR(buf.slice(start, nl));
      start = nl + 1;
      if (exceeds(line, this.maxLineBytes)) return this.#fail(lines);
      if (!isBlank(line)) lines.push(line);
    }
    this.#buf = start === 0 ? buf : buf.slice(start);
    if (exceeds(this.#buf, this.maxLineBytes)) return this.#fail(lines);
    return lines;
  }

  #fail(lines: string[]): string[] {
    this.failed = new LineTooLongError(this.maxLineBytes);
    this.#buf = '';
    return lines;
  }

  /** At the end of the stream: the last line if it had no newline (the caller decides whether it is complete). */
  end(): string | undefined {
    if (this.failed) return undefined;
    const last = trimCR(this.#buf + this.#decoder.decode());
    this.#buf = '';
    return isBlank(last) ? undefined : last;
  }
}

function trimCR(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** True when `s` is longer than `max` bytes in UTF-8; a UTF-16 unit takes at most 3 bytes, so short strings skip the count. */
function exceeds(s: string, max: number): boolean {
  return s.length * 3 > max && Buffer.byteLength(s, 'utf8') > max;
}
