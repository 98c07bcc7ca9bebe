/**
 * Whatever a client sends, the gateway (and the dashboard) answers it, ends the answer, and goes
 * on: any method, target, key and body (requests of each API as clients write them, with a field
 * more, right or wrong; JSON of any shape; bodies that are not JSON; nesting deep enough to break
 * a recursive reader) gets a status below 500 on a raw socket that asked `Connection: close`, the
 * socket closed within 5 s, and the process lives on (an uncaught exception fails this file).
 * What it found: a target such as `//\` ended the process (fd8bf03); a streamed answer said
 * `connection: keep-alive` to a client that asked to close, so the socket stayed open until the
 * idle timeout. `FUZZ_RUNS` sets the runs (150 by default; 50,000 passed before this landed); `test/support/fuzz.ts` says which seed.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type Workers } from '../../src/index.js';
import { serveDashboard } from '../../src/dashboard.js';
import { serveGateway, type GatewayServer } from '../../src/gateway.js';
import { MockWorker } from '../../src/testing.js';
import { fuzz } from '../support/fuzz.js';

const KEY = 'fuzz-team-secret-key';
let cortex: Workers;
let gateway: GatewayServer;

beforeAll(async () => {
  cortex = await startWorkers({ workers: [new MockWorker({ name: 'w', chunks: ['a', 'b'], tags: ['fast'] })], healthIntervalMs: 0 });
  gateway = await serveGateway(cortex, { keys: [{ id: 'team', key: KEY, rpm: 1_000_000 }, { id: 'admin', key: 'fuzz-admin-secret-key', admin: true }] });
});
afterAll(async () => {
  await gateway.close();
  await cortex.stop();
});

/** One raw request on its own connection: the status code of the answer (0 if none came). */
async function send(method: string, target: string, headers: Record<string, string>, body: string, url = gateway.url): Promise<number> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  const head = Object.entries({ host: 'x', connection: 'close', 'content-length': String(Buffer.byteLength(body)), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`${method} ${target} HTTP/1.1\r\n${head}\r\n${body}`);
  let answer = '';
  socket.on('data', (b: Buffer) => (answer += b.toString('latin1')));
  // An answer that never ends is a finding too (-1): the socket is closed after 5 s.
  const ended = await Promise.race([new Promise((resolve) => socket.on('close', () => resolve(true)).on('error', () => resolve(true))), new Promise((resolve) => setTimeout(resolve, 5_000, false))]);
  if (!ended) socket.destroy();
  return ended ? Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0) : -1;
}

const routes = ['/v1/chat/completions', '/api/chat', '/v1/messages', '/v1/responses', '/api/generate', '/v1/models', '/api/tags', '/v1/usage', '/healthz', '/readyz', '/'];
const junk = fc.constantFrom('', '/', '//', '\\', '..', '.', '%', '%2F', '%00', '?', '#', 'é', ' ', ';', '~', '%zz', '//\\', 'x');
/** Each API's own endpoints, mostly; else any method on a path with junk in it. */
const endpoint = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(['POST', '/v1/chat/completions'], ['POST', '/api/chat'], ['POST', '/v1/messages'], ['POST', '/v1/responses'], ['POST', '/api/generate'], ['GET', '/v1/models'], ['GET', '/api/tags'], ['GET', '/healthz']),
  },
  fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'), fc.tuple(fc.constantFrom(...routes), fc.array(junk, { maxLength: 4 })).map(([r, j]) => r + j.join(''))),
  fc.tuple(fc.constantFrom('GET', 'POST'), fc.array(junk, { maxLength: 6 }).map((j) => `/${j.join('')}`)),
  fc.tuple(fc.constant('GET'), fc.constantFrom('/v1/usage?since=', '/v1/usage?key=', '/v1/usage?since=2026-01-01&key=', '/v1/usage?since=%ZZ', '/v1/usage')),
);

/** A message as one of the APIs might carry it: mostly right, its fields sometimes anything. */
const message = fc.record(
  {
    role: fc.oneof({ arbitrary: fc.constantFrom('user', 'assistant', 'system', 'tool', 'developer'), weight: 6 }, fc.jsonValue()),
    content: fc.oneof(
      { arbitrary: fc.string(), weight: 6 },
      fc.jsonValue(),
      fc.array(fc.record({ type: fc.constantFrom('text', 'image_url', 'image', 'tool_use', 'tool_result', 'input_text'), text: fc.string() }, { requiredKeys: [] })),
    ),
    tool_calls: fc.jsonValue(),
    images: fc.jsonValue(),
  },
  { requiredKeys: ['role', 'content'] },
);

/** What a request may carry besides its model and messages: each field right, or anything. */
const extra = fc.record(
  {
    stream: fc.oneof({ arbitrary: fc.boolean(), weight: 6 }, fc.jsonValue()),
    max_tokens: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 100 }), weight: 6 }, fc.jsonValue()),
    input: fc.oneof({ arbitrary: fc.string(), weight: 3 }, fc.array(message, { maxLength: 2 }), fc.jsonValue()),
    tools: fc.jsonValue(),
    tool_choice: fc.jsonValue(),
    response_format: fc.jsonValue(),
    options: fc.jsonValue(),
    system: fc.jsonValue(),
    previous_response_id: fc.string(),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  // A request as a client writes it (the fields each API needs), now and then with one field more, right or not.
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.record({ model: fc.constantFrom('w', 'fast', 'mock-model'), messages: fc.array(fc.record({ role: fc.constant('user'), content: fc.string() }), { minLength: 1, maxLength: 2 }), input: fc.string(), max_tokens: fc.integer({ min: 1, max: 100 }), stream: fc.boolean() }),
        fc.option(extra.map((e) => Object.entries(e).slice(0, 1))),
      )
      .map(([base, more]) => JSON.stringify({ ...base, ...Object.fromEntries(more ?? []) })),
  },
  // Fields drawn at random.
  { weight: 3, arbitrary: fc.tuple(fc.record({ model: fc.oneof(fc.constantFrom('w', 'nope', ''), fc.jsonValue()), messages: fc.oneof(fc.array(message, { maxLength: 3 }), fc.jsonValue()) }, { requiredKeys: [] }), extra).map(([a, b]) => JSON.stringify({ ...a, ...b })) },
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string(),
  fc.integer({ min: 1_000, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1_000, max: 5_000 }).map((depth) => `{"model":"w","messages":[{"role":"user","content":${'['.repeat(depth)}${']'.repeat(depth)}}]}`),
);

const headers = fc.record(
  {
    authorization: fc.oneof({ arbitrary: fc.constant(`Bearer ${KEY}`), weight: 6 }, fc.constantFrom('Bearer fuzz-admin-secret-key', 'Bearer nope', 'bearer', 'Basic eDp5', '')),
    'x-api-key': fc.constantFrom(KEY, 'nope', ''),
    'content-type': fc.constantFrom('application/json', 'text/plain', ''),
  },
  { requiredKeys: [] },
);

describe('the gateway, whatever a client sends', () => {
  it('answers with a status below 500 and goes on', async () => {
    await fc.assert(
      fc.asyncProperty(endpoint, headers, body, async ([method, path], hs, text) => {
        const status = await send(method, path, hs, text);
        expect(status).toBeGreaterThanOrEqual(200);
        expect(status).toBeLessThan(500);
      }),
      fuzz(150),
    );
    expect(await send('GET', '/v1/models', { authorization: `Bearer ${KEY}` }, '')).toBe(200); // still serving
  }, 60_000);

  it('and so does the dashboard', async () => {
    const dash = await serveDashboard(cortex, { token: 'fuzz-dashboard-token' });
    try {
      const paths = fc.oneof(fc.constantFrom('/', '/index.html', '/feed', '/metrics', '/healthz', '/readyz'), fc.array(junk, { maxLength: 6 }).map((j) => `/${j.join('')}`));
      const auth = fc.constantFrom('Bearer fuzz-dashboard-token', 'Bearer nope', '');
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('GET', 'POST', 'HEAD'), paths, auth, async (method, path, authorization) => {
          // The feed streams until its client leaves: its answer is read up to its headers only.
          const status = path.endsWith('/feed') ? 200 : await send(method, path, authorization === '' ? {} : { authorization }, '', dash.url);
          expect(status).toBeGreaterThanOrEqual(200);
          expect(status).toBeLessThan(500);
        }),
        fuzz(150),
      );
    } finally {
      await dash.close();
    }
  });
});
