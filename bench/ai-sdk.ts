import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lib } from './lib.js';
import { median, record } from './harness.js';

const MODEL = 'bench:latest';
const ROUNDS = 120;

/**
 * The AI SDK bridge, side by side in one run on one fake Ollama (50 chunks): `streamText` over
 * cortex's provider against `streamText` over the AI SDK's own Ollama provider (one backend), and,
 * with a first backend that refuses connections, cortex's provider against `ai-fallback`.
 */
export async function aiSdkBench(): Promise<void> {
  const { createCortex } = (await import(new URL('../dist/ai-sdk.js', import.meta.url).href)) as typeof import('../src/ai-sdk.js');
  const { streamText } = await import('ai');
  const { createOllama } = await import('ollama-ai-provider-v2');
  const { createFallback } = await import('ai-fallback');
  const server = spawn(process.execPath, ['--import', 'tsx', 'bench/fake-server.ts', '50'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  const url = line.toString().trim();
  const dead = 'http://127.0.0.1:1'; // nothing listens: refused at once
  const one = await lib.startWorkers({ workers: [new lib.OllamaWorker({ name: 'local', baseUrl: url, model: MODEL })], healthIntervalMs: 0, prefix: 'aisdk1' });
  const two = await lib.startWorkers({
    workers: [new lib.OllamaWorker({ name: 'dead', baseUrl: dead, model: MODEL, priority: 1 }), new lib.OllamaWorker({ name: 'local', baseUrl: url, model: MODEL, priority: 2 })],
    healthIntervalMs: 0,
    prefix: 'aisdk2',
  });
  // Every request fails over: the circuit never opens (as a fresh ai-fallback per request never remembers).
  const every = await lib.startWorkers({
    workers: [new lib.OllamaWorker({ name: 'dead', baseUrl: dead, model: MODEL, priority: 1 }), new lib.OllamaWorker({ name: 'local', baseUrl: url, model: MODEL, priority: 2 })],
    healthIntervalMs: 0,
    failureThreshold: 1_000_000_000,
    prefix: 'aisdk3',
  });
  const ollama = createOllama({ baseURL: `${url}/api` });
  const deadOllama = createOllama({ baseURL: `${dead}/api` });
  const run = (model: Parameters<typeof streamText>[0]['model']) => async (): Promise<number> => {
    const t0 = performance.now();
    let text = '';
    for await (const t of streamText({ model, prompt: 'Hi', maxRetries: 0 }).textStream) text += t;
    if (text.length < 100) throw new Error(`short answer: ${text.length} chars`);
    return performance.now() - t0;
  };
  const fresh = (): Promise<number> => run(createFallback({ models: [deadOllama(MODEL), ollama(MODEL)], shouldRetryThisError: () => true }))();
  const clients: Record<string, () => Promise<number>> = {
    "AI SDK, its own Ollama provider": run(ollama(MODEL)),
    "AI SDK over cortex's provider": run(createCortex(one)()),
    // ai-fallback falls back on listed statuses only by default; a refused connection has none.
    'failover: AI SDK + ai-fallback (first backend refuses)': run(createFallback({ models: [deadOllama(MODEL), ollama(MODEL)], shouldRetryThisError: () => true })),
    "failover: AI SDK over cortex's provider (first worker refuses)": run(createCortex(two)()),
    'every request fails over: AI SDK + a fresh ai-fallback': fresh,
    "every request fails over: AI SDK over cortex's provider (circuit kept closed)": run(createCortex(every)()),
  };
  for (const c of Object.values(clients)) for (let i = 0; i < 10; i++) await c(); // warm up
  const times: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const names = Object.keys(clients);
    for (const name of round % 2 ? names.reverse() : names) (times[name] ??= []).push(await clients[name]!());
  }
  for (const [name, t] of Object.entries(times)) record({ group: 'ai-sdk', name: `${name}: streamText, 50 chunks`, value: median(t) * 1000, unit: 'us' });
  const own = median(times['AI SDK, its own Ollama provider']!);
  const ours = median(times["AI SDK over cortex's provider"]!);
  record({ group: 'ai-sdk', name: "cortex's provider / the AI SDK's own provider, one backend", value: ours / own, unit: 'x', goal: '<= 1.1x', met: ours / own <= 1.1 });
  const fallback = median(times['failover: AI SDK + ai-fallback (first backend refuses)']!);
  const failover = median(times["failover: AI SDK over cortex's provider (first worker refuses)"]!);
  record({ group: 'ai-sdk', name: 'cortex faster than ai-fallback, each having learned which backend is down', value: fallback / failover, unit: 'x' });
  const theirs = median(times['every request fails over: AI SDK + a fresh ai-fallback']!);
  const mine = median(times["every request fails over: AI SDK over cortex's provider (circuit kept closed)"]!);
  record({ group: 'ai-sdk', name: 'cortex faster than ai-fallback on failover (every request fails over)', value: theirs / mine, unit: 'x', goal: '> 1x', met: theirs > mine });
  await one.stop();
  await two.stop();
  await every.stop();
  server.stdin!.end();
  await once(server, 'exit');
}
