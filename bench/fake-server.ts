// Runs the fake Ollama server in its own process, so the client side is measured alone.
import { testing } from './lib.js';
const { startFakeOllama } = testing;

const chunks = Array.from({ length: Number(process.argv[2] ?? 50) }, (_, i) => `tok${i} `);
const fake = await startFakeOllama({ models: ['bench:latest'], script: { chunks } });
process.stdout.write(`${fake.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => void fake.close().then(() => process.exit(0)));
