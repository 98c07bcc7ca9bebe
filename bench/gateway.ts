import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { median, record } from './harness.js';

const body = JSON.stringify({ model: 'bench:latest', messages: [{ role: 'user', content: 'Hi' }], stream: true });

/** One streamed Ollama-API answer read with fetch and a line split: its first chunk and total, ms. */
async function ask(base: string, key?: string): Promise<{ first: number; total: number; lines: number }> {
  const t0 = performance.now();
  const res = await fetch(`${base}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}) }, body });
  let first = 0;
  let lines = 0;
  let buf = '';
  const dec = new TextDecoder();
  for await (const bytes of res.body!) {
    buf += dec.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (lines++ === 0) first = performance.now() - t0;
    }
  }
  return { first, total: performance.now() - t0, lines };
}

async function start(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, url: line.toString().trim() };
}

/** The gateway in front of a fake Ollama (each in its own process), against calling the fake directly. */
export async function gatewayBench(): Promise<void> {
  const backend = await start(['bench/fake-server.ts', '50']);
  const gateway = await start(['bench/gateway-server.ts', backend.url]);
  const keyed = await start(['bench/gateway-server.ts', backend.url, 'keys']);
  const KEY = 'bench-key-123';
  try {
    for (let i = 0; i < 50; i++) await Promise.all([ask(backend.url), ask(gateway.url), ask(keyed.url, KEY)]); // warm-up
    const direct: Array<{ first: number; total: number }> = [];
    const through: Array<{ first: number; total: number }> = [];
    const withKeys: Array<{ first: number; total: number }> = [];
    const runs: Array<() => Promise<void>> = [
      async () => void direct.push(await ask(backend.url)),
      async () => void through.push(await ask(gateway.url)),
      async () => void withKeys.push(await ask(keyed.url, KEY)),
    ];
    for (let i = 0; i < 300; i++) for (const run of i % 2 === 0 ? runs : [...runs].reverse()) await run();
    const p50 = (xs: Array<{ first: number; total: number }>, k: 'first' | 'total'): number => median(xs.map((x) => x[k]));
    const addedFirst = p50(through, 'first') - p50(direct, 'first');
    const addedTotal = p50(through, 'total') - p50(direct, 'total');
    record({ group: 'gateway', name: 'backend directly: first chunk / total p50 (50 chunks)', value: p50(direct, 'first'), unit: 'ms', note: `total ${p50(direct, 'total').toFixed(2)} ms` });
    record({ group: 'gateway', name: 'through the gateway: first chunk / total p50', value: p50(through, 'first'), unit: 'ms', note: `total ${p50(through, 'total').toFixed(2)} ms` });
    record({ group: 'gateway', name: 'added by the gateway to the first chunk, p50', value: addedFirst, unit: 'ms', goal: '<= 0.3 ms', met: addedFirst <= 0.3 });
    record({ group: 'gateway', name: 'added by the gateway to the whole answer, p50', value: addedTotal, unit: 'ms', goal: '<= 0.3 ms', met: addedTotal <= 0.3 });
    const keysAdd = p50(withKeys, 'total') - p50(through, 'total');
    record({ group: 'gateway', name: 'added by a key with limits and usage accounting (the same gateway without), whole answer p50', value: keysAdd, unit: 'ms', goal: '<= 0.5 ms', met: keysAdd <= 0.5 });
    // Throughput: 100 streams at a time for 3 s.
    let done = 0;
    const until = performance.now() + 3000;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (performance.now() < until) {
          await ask(gateway.url);
          done++;
        }
      }),
    );
    record({ group: 'gateway', name: 'gateway throughput, 100 concurrent streams (50 chunks each)', value: done / 3, unit: 'req/s' });
  } finally {
    gateway.child.stdin!.end();
    keyed.child.stdin!.end();
    backend.child.stdin!.end();
  }
}
