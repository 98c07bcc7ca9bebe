import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { rows } from './harness.js';
import { runtimeBench } from './runtime.js';

const only = process.argv[2];
const started = Date.now();
console.log(`cortex bench: node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'})`);
if (!only || only === 'runtime') await runtimeBench();
if (!only || only === 'pool') await (await import('./pool.js')).poolBench();
if (!only || only === 'admission') await (await import('./admission.js')).admissionBench();
if (!only || only === 'observe') await (await import('./observe.js')).observeBench();
if (!only || only === 'store') await (await import('./store.js')).storeBench();
if (!only || only === 'http') await (await import('./http.js')).httpBench();
if (!only || only === 'hedge') await (await import('./hedge.js')).hedgeBench();
if (!only || only === 'gateway') await (await import('./gateway.js')).gatewayBench();
if (!only || only === 'ai-sdk') await (await import('./ai-sdk.js')).aiSdkBench();

console.log('\n| group | measure | value | spread | goal | met |\n|---|---|---|---|---|---|');
for (const r of rows) {
  const v = `${r.value >= 100 ? r.value.toFixed(0) : r.value.toFixed(2)} ${r.unit}`;
  const s = r.spread ? `${r.spread[0].toFixed(2)}..${r.spread[1].toFixed(2)}` : '';
  console.log(`| ${r.group} | ${r.name}${r.note ? ` (${r.note})` : ''} | ${v} | ${s} | ${r.goal ?? ''} | ${r.goal ? (r.met ? 'yes' : 'no') : ''} |`);
}
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ node: process.version, cpus: os.cpus().length, seconds: (Date.now() - started) / 1000, rows }, null, 2));
console.log(`\nwritten ${file} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(0);
