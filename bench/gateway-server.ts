// The gateway in its own process, in front of the fake Ollama at argv[2]: prints its URL.
import { lib } from './lib.js';

const { serveGateway } = (await import(new URL('../dist/gateway.js', import.meta.url).href)) as typeof import('../src/gateway.js');
const cortex = await lib.startWorkers({ workers: [new lib.OllamaWorker({ name: 'local', baseUrl: process.argv[2]!, model: 'bench:latest', maxConcurrent: 1000 })], healthIntervalMs: 0 });
const gateway = await serveGateway(cortex);
process.stdout.write(`${gateway.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => void gateway.close().then(() => cortex.stop()).then(() => process.exit(0)));
