// The gateway in its own process, in front of the fake Ollama at argv[2]: prints its URL. With
// argv[3] 'keys': a key with limits (rpm, maxConcurrent: every request counted) and a priced
// worker (usage and cost counted), as a team runs it.
import { lib } from './lib.js';

const { serveGateway } = (await import(new URL('../dist/gateway.js', import.meta.url).href)) as typeof import('../src/gateway.js');
const keyed = process.argv[3] === 'keys';
const price = keyed ? { price: { inputPerMTok: 1, outputPerMTok: 2 } } : {};
const cortex = await lib.startWorkers({ workers: [new lib.OllamaWorker({ name: 'local', baseUrl: process.argv[2]!, model: 'bench:latest', maxConcurrent: 1000, ...price })], healthIntervalMs: 0 });
const gateway = await serveGateway(cortex, keyed ? { keys: [{ id: 'bench', key: 'bench-key-123', rpm: 1_000_000_000, maxConcurrent: 1_000 }] } : {});
process.stdout.write(`${gateway.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => void gateway.close().then(() => cortex.stop()).then(() => process.exit(0)));
