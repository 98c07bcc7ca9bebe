import { lib } from './lib.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { median, record } from './harness.js';
const { OllamaWorker, startWorkers } = lib;

const messages = [{ role: 'user' as const, content: 'Hi' }];
const MODEL = 'bench:latest';

type Client = () => Promise<{ ttfc: number; total: number; text: string }>;

async function timed(run: (onChunk: (t: string) => void) => Promise<void>): Promise<{ ttfc: number; total: number; text: string }> {
  const t0 = performance.now();
  let first = 0;
  let text = '';
  await run((t) => {
    if (first === 0 && t !== '') first = performance.now();
    text += t;
  });
  return { ttfc: first - t0, total: performance.now() - t0, text };
}

export async function httpBench(): Promise<void> {
  const server = spawn(process.execPath, ['--import', 'tsx', 'bench/fake-server.ts', '50'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  const url = line.toString().trim();

  const cortex = await startWorkers({
    workers: [new OllamaWorker({ name: 'local', baseUrl: url, model: MODEL }), new OllamaWorker({ name: 'backup', baseUrl: url, model: MODEL, priority: 20 })],
    healthIntervalMs: 0,
    prefix: 'http',
  });

  const clients: Record<string, Client> = {
    'fetch + line split (floor)': () =>
      timed(async (onChunk) => {
        const res = await fetch(`${url}/api/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: MODEL, messages, stream: true }),
        });
        const dec = new TextDecoder();
        let buf = '';
        for await (const bytes of res.body!) {
          buf += dec.decode(bytes, { stream: true });
          let nl: number;
          while ((nl = buf.indexOf('\n')) !== -1) {
            const obj = JSON.parse(buf.slice(0, nl)) as { message?: { content?: string }; done?: boolean };
            buf = buf.slice(nl + 1);
            onChunk(obj.message?.content ?? '');
          }
        }
      }),
    'cortex pool (OllamaWorker)': () =>
      timed(async (onChunk) => {
        for await (const c of cortex.dispatcher.dispatchStream(messages)) onChunk(c.text);
      }),
  };

  try {
    const { Ollama } = await import('ollama');
    const ollama = new Ollama({ host: url });
    clients['ollama (official client)'] = () =>
      timed(async (onChunk) => {
        for await (const part of await ollama.chat({ model: MODEL, messages, stream: true })) onChunk(part.message.content);
      });
  } catch (e) {
    console.log(`  ollama client unavailable: ${(e as Error).message}`);
  }
  try {
    const { streamText } = await import('ai');
    const { createOllama } = await import('ollama-ai-provider-v2');
    const { createFallback } = await import('ai-fallback');
    const provider = createOllama({ baseURL: `${url}/api` });
    const model = createFallback({ models: [provider(MODEL), provider(MODEL)] });
    clients['Vercel AI SDK + ai-fallback'] = () =>
      timed(async (onChunk) => {
        const r = streamText({ model, messages });
        for await (const t of r.textStream) onChunk(t);
      });
  } catch (e) {
    console.log(`  AI SDK unavailable: ${(e as Error).message}`);
  }
  try {
    const { ChatOllama } = await import('@langchain/ollama');
    const primary = new ChatOllama({ baseUrl: url, model: MODEL });
    const chain = primary.withFallbacks([new ChatOllama({ baseUrl: url, model: MODEL })]);
    clients['LangChain ChatOllama.withFallbacks'] = () =>
      timed(async (onChunk) => {
        for await (const c of await chain.stream([['human', 'Hi']])) onChunk(typeof c.content === 'string' ? c.content : '');
      });
  } catch (e) {
    console.log(`  LangChain unavailable: ${(e as Error).message}`);
  }

  // Check every client gets the whole answer, then warm up.
  const expected = Array.from({ length: 50 }, (_, i) => `tok${i} `).join('');
  for (const [name, c] of Object.entries(clients)) {
    try {
      const r = await c();
      if (r.text !== expected) throw new Error(`got ${r.text.length} chars, expected ${expected.length}`);
      for (let i = 0; i < 20; i++) await c();
    } catch (e) {
      console.log(`  ${name} failed: ${(e as Error).message}`);
      delete clients[name];
    }
  }

  const ttfc: Record<string, number[]> = {};
  const total: Record<string, number[]> = {};
  // Interleaved request by request (A B C D E, then E D C B A, ...), so drift in this noisy
  // machine's speed hits every client alike.
  for (let round = 0; round < 240; round++) {
    const names = Object.keys(clients);
    for (const name of round % 2 ? names.reverse() : names) {
      const r = await clients[name]!();
      (ttfc[name] ??= []).push(r.ttfc);
      (total[name] ??= []).push(r.total);
    }
  }
  const floor = 'fetch + line split (floor)';
  const base = { ttfc: median(ttfc[floor]!), total: median(total[floor]!) };
  for (const name of Object.keys(clients)) {
    const t = median(ttfc[name]!);
    const tt = median(total[name]!);
    record({ group: 'http', name: `${name}: first chunk`, value: t * 1000, unit: 'us' });
    record({ group: 'http', name: `${name}: total (50 chunks)`, value: tt * 1000, unit: 'us' });
    if (name === floor) continue;
    if (name.startsWith('cortex')) {
      record({ group: 'http', name: 'cortex / floor, first chunk', value: t / base.ttfc, unit: 'x', goal: '<= 1.05x', met: t / base.ttfc <= 1.05 });
      record({ group: 'http', name: 'cortex / floor, total', value: tt / base.total, unit: 'x', goal: '<= 1.05x', met: tt / base.total <= 1.05 });
    }
  }
  // The floor and cortex alone, interleaved: in the run above the other clients sit between
  // them, and cortex's figures move with that company (its code and connection go cold between
  // its turns); here nothing else runs.
  const pair = [floor, 'cortex pool (OllamaWorker)'];
  const alone: Record<string, { ttfc: number[]; total: number[] }> = { [pair[0]!]: { ttfc: [], total: [] }, [pair[1]!]: { ttfc: [], total: [] } };
  for (let round = 0; round < 240; round++) {
    for (const name of round % 2 ? [...pair].reverse() : pair) {
      const r = await clients[name]!();
      alone[name]!.ttfc.push(r.ttfc);
      alone[name]!.total.push(r.total);
    }
  }
  const pf = median(alone[pair[1]!]!.ttfc) / median(alone[floor]!.ttfc);
  const pt = median(alone[pair[1]!]!.total) / median(alone[floor]!.total);
  record({ group: 'http', name: 'cortex / floor, first chunk (the two alone)', value: pf, unit: 'x', goal: '<= 1.05x', met: pf <= 1.05 });
  record({ group: 'http', name: 'cortex / floor, total (the two alone)', value: pt, unit: 'x', goal: '<= 1.05x', met: pt <= 1.05 });
  const ours = median(total['cortex pool (OllamaWorker)']!);
  for (const name of Object.keys(clients)) {
    if (name === floor || name.startsWith('cortex')) continue;
    const theirs = median(total[name]!);
    const ourT = median(ttfc['cortex pool (OllamaWorker)']!);
    const theirT = median(ttfc[name]!);
    record({
      group: 'http',
      name: `cortex faster than ${name} (total; first chunk)`,
      value: theirs / ours,
      unit: 'x',
      note: `first chunk ${(theirT / ourT).toFixed(2)}x`,
      goal: 'faster (> 1x) on both',
      met: theirs > ours && theirT > ourT,
    });
  }
  await cortex.stop();
  server.stdin!.end();
  await once(server, 'exit');
}
