// CPU time per request of each process: the gateway vs the bare proxy, sequential requests.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
const body = JSON.stringify({ model: 'bench:latest', messages: [{ role: 'user', content: 'Hi' }], stream: true });
const chunks = process.argv[2] ?? '50';
async function ask(base: string): Promise<void> {
  const res = await fetch(`${base}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  for await (const _ of res.body!) void _;
}
async function start(args: string[], prof = false): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...(prof ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof3'] : []), '--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, url: line.toString().trim() };
}
const ticks = (pid: number): number => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return Number(f[11]) + Number(f[12]); };
import { readdirSync } from 'node:fs';
const threads = (pid: number): Map<string, number> => {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const raw = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    const name = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    m.set(`${name}#${t}`, Number(f[11]) + Number(f[12]));
  }
  return m;
};
const sys = (pid: number): number => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return Number(f[12]); };
const backend = await start(['bench/fake-server.ts', chunks]);
const gw = await start(['bench/gateway-server.ts', backend.url], process.env.PROF === 'gw');
const px = await start(['bench/proxy-server.ts', backend.url, 'http'], process.env.PROF === 'px');
for (let i = 0; i < Number(process.env.WARM ?? 300); i++) { await ask(gw.url); await ask(px.url); }
for (const [name, p] of [['gateway', gw], ['proxy', px], ['gateway', gw], ['proxy', px]] as const) {
  const N = 2000;
  const th0 = threads(p.child.pid!); const c0 = ticks(p.child.pid!); const s0 = sys(p.child.pid!); const b0 = ticks(backend.child.pid!); const m0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < N; i++) await ask(p.url);
  const ms = performance.now() - t0; const m = process.cpuUsage(m0);
  const th1 = threads(p.child.pid!); console.log('  threads:', [...th1].map(([k, v]) => [k, ((v - (th0.get(k) ?? 0)) * 10000 / N)] as const).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
  console.log(`${name}: ${(ms * 1000 / N).toFixed(0)} us/request wall; CPU us/request: itself ${((ticks(p.child.pid!) - c0) * 10000 / N).toFixed(0)} (system ${((sys(p.child.pid!) - s0) * 10000 / N).toFixed(0)}), backend ${((ticks(backend.child.pid!) - b0) * 10000 / N).toFixed(0)}, client ${((m.user + m.system) / N).toFixed(0)}`);
}
for (const p of [gw, px, backend]) p.child.stdin!.end();
await new Promise((r) => setTimeout(r, 1500));
