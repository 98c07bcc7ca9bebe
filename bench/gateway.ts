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

/** Streams answered per second with `concurrency` clients asking `url` over and over for `ms`. */
async function throughput(url: string, concurrency: number, ms = 3000, key?: string): Promise<number> {
  let done = 0;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await ask(url, key);
        done++;
      }
    }),
  );
  return done / (ms / 1000);
}

/**
 * The gateway in front of a fake Ollama (each in its own process), against calling the fake
 * directly, and against the floor: bare proxies (node:http with a keep-alive agent, and fetch)
 * that do nothing but pass the bytes on. All measured in one interleaved loop.
 */
export async function gatewayBench(): Promise<void> {
  const backend = await start(['bench/fake-server.ts', '50']);
  const gateway = await start(['bench/gateway-server.ts', backend.url]);
  const keyed = await start(['bench/gateway-server.ts', backend.url, 'keys']);
  const httpProxy = await start(['bench/proxy-server.ts', backend.url, 'http']);
  const fetchProxy = await start(['bench/proxy-server.ts', backend.url, 'fetch']);
  const KEY = 'bench-key-123';
  try {
    for (let i = 0; i < 50; i++) await Promise.all([ask(backend.url), ask(gateway.url), ask(keyed.url, KEY), ask(httpProxy.url), ask(fetchProxy.url)]); // warm-up
    type Times = Array<{ first: number; total: number }>;
    const direct: Times = [];
    const through: Times = [];
    const withKeys: Times = [];
    const bareHttp: Times = [];
    const bareFetch: Times = [];
    const runs: Array<() => Promise<void>> = [
      async () => void direct.push(await ask(backend.url)),
      async () => void through.push(await ask(gateway.url)),
      async () => void withKeys.push(await ask(keyed.url, KEY)),
      async () => void bareHttp.push(await ask(httpProxy.url)),
      async () => void bareFetch.push(await ask(fetchProxy.url)),
    ];
    for (let i = 0; i < 300; i++) for (const run of i % 2 === 0 ? runs : [...runs].reverse()) await run();
    const p50 = (xs: Times, k: 'first' | 'total'): number => median(xs.map((x) => x[k]));
    const added = (xs: Times, k: 'first' | 'total'): number => p50(xs, k) - p50(direct, k);
    const addedFirst = added(through, 'first');
    const addedTotal = added(through, 'total');
    record({ group: 'gateway', name: 'backend directly: first chunk / total p50 (50 chunks)', value: p50(direct, 'first'), unit: 'ms', note: `total ${p50(direct, 'total').toFixed(2)} ms` });
    record({ group: 'gateway', name: 'through the gateway: first chunk / total p50', value: p50(through, 'first'), unit: 'ms', note: `total ${p50(through, 'total').toFixed(2)} ms` });
    record({ group: 'gateway', name: 'added by the gateway to the first chunk, p50', value: addedFirst, unit: 'ms', goal: '<= 0.5 ms', met: addedFirst <= 0.5 });
    record({ group: 'gateway', name: 'added by the gateway to the whole answer, p50', value: addedTotal, unit: 'ms', goal: '<= 0.5 ms', met: addedTotal <= 0.5 });
    record({ group: 'gateway', name: 'the floor: added by a bare node:http proxy (keep-alive), first chunk / whole answer p50', value: added(bareHttp, 'first'), unit: 'ms', note: `whole answer ${added(bareHttp, 'total').toFixed(2)} ms` });
    record({ group: 'gateway', name: 'the floor: added by a bare fetch proxy, first chunk / whole answer p50', value: added(bareFetch, 'first'), unit: 'ms', note: `whole answer ${added(bareFetch, 'total').toFixed(2)} ms` });
    record({ group: 'gateway', name: "the gateway's own part: added beyond the bare node:http proxy (its upstream is node:http too), whole answer p50", value: p50(through, 'total') - p50(bareHttp, 'total'), unit: 'ms' });
    const keysAdd = p50(withKeys, 'total') - p50(through, 'total');
    record({ group: 'gateway', name: 'added by a key with limits and usage accounting (the same gateway without), whole answer p50', value: keysAdd, unit: 'ms', goal: '<= 0.5 ms', met: keysAdd <= 0.5 });
    // Throughput: 50 streams at a time for 3 s each, through the gateway, directly, and through the bare proxy.
    // The gateway with and without a key in ABBA order (their ratio is the figure), the others once.
    const plainFirst = await throughput(gateway.url, 50);
    const keyedFirst = await throughput(keyed.url, 50, 3000, KEY);
    const directly = await throughput(backend.url, 50);
    const viaProxy = await throughput(httpProxy.url, 50);
    const viaKeyed = (keyedFirst + (await throughput(keyed.url, 50, 3000, KEY))) / 2;
    const viaGateway = (plainFirst + (await throughput(gateway.url, 50))) / 2;
    record({ group: 'gateway', name: 'throughput at 50 concurrent streams (50 chunks each): gateway', value: viaGateway, unit: 'req/s', note: `backend directly ${directly.toFixed(0)}, bare node:http proxy ${viaProxy.toFixed(0)}` });
    record({ group: 'gateway', name: 'throughput at 50 concurrent, gateway / backend directly', value: viaGateway / directly, unit: 'x', goal: '>= 0.8x', met: viaGateway / directly >= 0.8 });
    record({ group: 'gateway', name: 'throughput at 50 concurrent, bare node:http proxy / backend directly (the floor)', value: viaProxy / directly, unit: 'x' });
    record({ group: 'gateway', name: 'throughput at 50 concurrent with a key (limits, usage and cost counted) / the same gateway without', value: viaKeyed / viaGateway, unit: 'x', note: `${viaKeyed.toFixed(0)} req/s with the key` });
  } finally {
    for (const p of [gateway, keyed, httpProxy, fetchProxy, backend]) p.child.stdin!.end();
  }
}
