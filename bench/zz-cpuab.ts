// Two builds' gateways side by side in front of one backend: CPU and wall per request, alternating blocks.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
const body = JSON.stringify({ model: 'bench:latest', messages: [{ role: 'user', content: 'Hi' }], stream: true });
const [dirA, dirB, chunks = '1'] = process.argv.slice(2);
async function ask(base: string): Promise<void> {
  const res = await fetch(`${base}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  for await (const _ of res.body!) void _;
}
async function start(cwd: string, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd, stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => { let b = ''; child.stdout!.on('data', (x: Buffer) => { b += x; const m = /http:\/\/[\d.:]+/.exec(b); if (m) resolve(m[0]); }); });
  return { child, url };
}
const ticks = (pid: number): number => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return Number(f[11]) + Number(f[12]); };
const backend = await start(dirA!, ['bench/fake-server.ts', chunks]);
const gws = [await start(dirA!, ['bench/gateway-server.ts', backend.url]), await start(dirB!, ['bench/gateway-server.ts', backend.url])];
for (let i = 0; i < 1500; i++) for (const g of gws) await ask(g.url);
const cpu = [0, 0]; const wall = [0, 0]; let n = 0;
const per: number[][] = [[], []];
for (let round = 0; round < 10; round++) {
  for (const k of round % 2 ? [1, 0] : [0, 1]) {
    const g = gws[k]!; const c0 = ticks(g.child.pid!); const t0 = performance.now();
    for (let i = 0; i < 400; i++) await ask(g.url);
    const c = (ticks(g.child.pid!) - c0) * 10000 / 400; cpu[k]! += c; wall[k]! += (performance.now() - t0) * 1000 / 400; per[k]!.push(c);
  }
  n++;
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const k of [0, 1]) console.log(`${k ? dirB : dirA}: CPU ${(cpu[k]! / n).toFixed(0)} us/request (median block ${med(per[k]!).toFixed(0)}), wall ${(wall[k]! / n).toFixed(0)} us`);
for (const p of [...gws, backend]) p.child.stdin!.end();
