import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NdjsonSplitter } from '../../src/adapters/ndjson.js';
import { SseSplitter, type SseItem } from '../../src/adapters/sse.js';

const enc = new TextEncoder();

/** Splits bytes at the given cut points (any of them may fall inside a UTF-8 character). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.subarray(prev, p));
    prev = p;
  }
  return parts;
}

async function* from(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

async function* ndjsonLines(body: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<string> {
  const s = new NdjsonSplitter(max);
  for await (const b of body) {
    yield* s.push(b);
    if (s.failed) throw s.failed;
  }
  const last = s.end();
  if (last !== undefined) yield last;
}

async function* sseEvents(body: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<SseItem> {
  const s = new SseSplitter(max);
  for await (const b of body) yield* s.push(b);
  yield* s.end();
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const text = fc.string({ unit: fc.constantFrom('a', 'z', ' ', 'é', '€', '日', '🙂', '"', '\\\\', ':') });

describe('parsers: any split of a valid byte stream into reads yields the same chunks', () => {
  it('NDJSON lines', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), async (contents, cuts, crlf) => {
        const lines = contents.map((c) => JSON.stringify({ message: { content: c } }));
        const bytes = enc.encode(lines.join(crlf ? '\r\n' : '\n') + '\n\n');
        const got = await all(ndjsonLines(from(split(bytes, cuts)), 1 << 20));
        expect(got).toEqual(lines);
      }),
      { numRuns: 300 },
    );
  });

  it('SSE events (with comments)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), async (contents, cuts, crlf) => {
        const nl = crlf ? '\r\n' : '\n';
        const datas = contents.map((c) => JSON.stringify({ choices: [{ delta: { content: c } }] }));
        const wire = datas.map((d) => `: ping${nl}data: ${d}${nl}${nl}`).join('') + `data: [DONE]${nl}${nl}`;
        const got = await all(sseEvents(from(split(enc.encode(wire), cuts)), 1 << 20));
        expect(got.filter((x) => x.kind === 'event').map((x) => (x.kind === 'event' ? x.event.data : ''))).toEqual([...datas, '[DONE]']);
        expect(got.filter((x) => x.kind === 'comment')).toHaveLength(datas.length);
      }),
      { numRuns: 300 },
    );
  });

  it('an NDJSON line over the bound is refused, however it is split', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 6 }), async (cuts) => {
        const bytes = enc.encode('x'.repeat(5_000) + '\n');
        await expect(all(ndjsonLines(from(split(bytes, cuts)), 1_000))).rejects.toThrow('a line exceeded 1000 bytes');
      }),
      { numRuns: 50 },
    );
  });
});
