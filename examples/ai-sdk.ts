/**
 * A chat served the Vercel AI SDK way, over a cortex pool: the server side of `useChat`
 * (`POST /api/chat` answers with `streamText(...)`'s UI message stream), and a small page that
 * reads it as a browser does.
 *
 *   npm run ai-sdk                           # prints the URL; open it; Ctrl-C to stop
 *   npm run ai-sdk -- --prompt "Hello"       # one answer through streamText, then exit
 *   npm run ai-sdk -- --ollama-url URL       # Ollama first (the demo worker answers when it cannot)
 *
 * The pool has a worker that always fails first: the failover is invisible to the AI SDK.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { convertToModelMessages, streamText, type UIMessage } from 'ai';
import { DemoWorker, OllamaWorker, startWorkers, type LlmWorker, type Workers } from '../src/index.js';
import { createCortex } from '../src/ai-sdk.js';
import { MockWorker } from '../src/testing.js';

const USAGE = 'usage: npm run ai-sdk -- [--prompt TEXT] [--port N] [--ollama-url URL]';

/** A running chat: its URL, the pool, and how to stop both. */
export interface ChatServer {
  readonly url: string;
  readonly workers: Workers;
  stop(): Promise<void>;
}

/** The pool: a worker that always fails (to show the failover), then `workers` (by default Ollama, then the demo). */
export async function chatPool(workers?: LlmWorker[], ollamaUrl?: string): Promise<Workers> {
  const broken = new MockWorker({ name: 'always-broken', priority: 0, failOnStart: true });
  const rest = workers ?? [new OllamaWorker({ ...(ollamaUrl !== undefined ? { baseUrl: ollamaUrl } : {}) }), new DemoWorker()];
  return startWorkers({ workers: [broken, ...rest], healthIntervalMs: 0 });
}

/** Serves the page at `/` and `useChat`'s endpoint at `POST /api/chat`. */
export async function startChatServer(options: { port?: number; workers?: LlmWorker[]; ollamaUrl?: string } = {}): Promise<ChatServer> {
  const workers = await chatPool(options.workers, options.ollamaUrl);
  const cortex = createCortex(workers);
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    if (req.method !== 'POST' || req.url !== '/api/chat') return void res.writeHead(404).end('not found');
    void (async () => {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      const { messages } = JSON.parse(body) as { messages: UIMessage[] };
      const result = streamText({ model: cortex(), messages: await convertToModelMessages(messages) });
      result.pipeUIMessageStreamToResponse(res);
    })().catch(() => res.writeHead(400).end('bad request'));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    workers,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await workers.stop();
    },
  };
}

/** The page: a form, and the answer read from the UI message stream as it comes (text deltas). */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cortex + AI SDK</title></head>
<body>
<form id="ask"><input id="prompt" value="Hello" autocomplete="off"> <button id="send">Send</button></form>
<p id="answer"></p>
<script>
document.getElementById('ask').addEventListener('submit', async (event) => {
  event.preventDefault();
  const answer = document.getElementById('answer');
  answer.textContent = '';
  const text = document.getElementById('prompt').value;
  const res = await fetch('/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text }] }] }) });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += value;
    const lines = buffered.split('\\n');
    buffered = lines.pop();
    for (const line of lines) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const part = JSON.parse(line.slice(6));
      if (part.type === 'text-delta') answer.textContent += part.delta;
      if (part.type === 'finish') answer.dataset.done = 'true';
    }
  }
});
</script>
</body></html>`;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ options: { prompt: { type: 'string' }, port: { type: 'string' }, 'ollama-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) return void console.log(USAGE);
  const ollamaUrl = values['ollama-url'] ?? process.env.OLLAMA_HOST;
  if (values.prompt !== undefined) {
    const workers = await chatPool(undefined, ollamaUrl || undefined);
    const result = streamText({ model: createCortex(workers)(), prompt: values.prompt });
    for await (const text of result.textStream) process.stdout.write(text);
    process.stdout.write(`\n[answered by ${String(((await result.providerMetadata)?.cortex as { workers?: string[] } | undefined)?.workers)}]\n`);
    await workers.stop();
    return;
  }
  const chat = await startChatServer({ port: Number(values.port ?? 0), ...(ollamaUrl ? { ollamaUrl } : {}) });
  console.log(`cortex + AI SDK chat: ${chat.url}  (Ctrl-C to stop)`);
  process.once('SIGINT', () => void chat.stop().then(() => process.exit(0)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
