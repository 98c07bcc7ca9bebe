import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
const body = JSON.stringify({ model: 'bench:latest', messages: [{ role: 'user', content: 'Hi' }], stream: true });
async function ask(base: string, key?: string): Promise<void> {
  const res = await fetch(`${base}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body });
  for await (const _ of res.body!) void _;
}
async function start(args: string[], prof = false): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...(prof ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof3'] : []), '--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => { let b = ''; child.stdout!.on('data', (x: Buffer) => { b += x; const m = /http:\/\/[\d.:]+/.exec(b); if (m) resolve(m[0]); }); });
  return { child, url };
}
const ticks = (pid: number): number => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return Number(f[11]) + Number(f[12]); };
const backend = await start(['bench/fake-server.ts', process.argv[2] ?? '1']);
const plain = await start(['bench/gateway-server.ts', backend.url]);
const keyed = await start(['bench/gateway-server.ts', backend.url, 'keys'], process.env.PROF === '1');
const KEY = 'bench-key-123';
for (let i = 0; i < 1500; i++) { await ask(plain.url); await ask(keyed.url, KEY); }
const cpu = [0, 0];
for (let round = 0; round < 8; round++) {
  for (const k of round % 2 ? [1, 0] : [0, 1]) {
    const g = k ? keyed : plain; const c0 = ticks(g.child.pid!);
    for (let i = 0; i < 400; i++) await ask(g.url, k ? KEY : undefined);
    cpu[k]! += (ticks(g.child.pid!) - c0) * 10000 / 400 / 8;
  }
}
console.log(`CPU per request: plain ${cpu[0]!.toFixed(0)} us, keyed ${cpu[1]!.toFixed(0)} us`);
for (const p of [plain, keyed, backend]) p.child.stdin!.end();
await new Promise((r) => setTimeout(r, 1500));
