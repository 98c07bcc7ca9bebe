import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
const body = JSON.stringify({ model: 'bench:latest', messages: [{ role: 'user', content: 'Hi' }], stream: true });
const chunks = process.argv[2] ?? '1';
async function ask(base: string): Promise<void> {
  const res = await fetch(`${base}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  for await (const _ of res.body!) void _;
}
async function start(args: string[], flags: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => {
    let buf = '';
    let found = false;
    child.stdout!.on('data', (b: Buffer) => {
      if (found) { appendFileSync('/tmp/gwtrace.out', b); return; }
      buf += b.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(buf);
      if (m) { found = true; resolve(m[0]); }
    });
  });
  return { child, url };
}
const backend = await start(['bench/fake-server.ts', chunks]);
const gw = await start(['bench/gateway-server.ts', backend.url], (process.env.GWFLAGS ?? '').split(' ').filter(Boolean));
const px = await start(['bench/proxy-server.ts', backend.url, 'http']);
for (let i = 0; i < Number(process.env.WARM ?? 300); i++) { await ask(gw.url); await ask(px.url); }
for (const [name, p] of [['gateway', gw], ['proxy', px]] as const) {
  appendFileSync('/tmp/gwtrace.out', '=== MEASURE ' + name + '\n');
  const st = spawn('strace', ['-c', '-f', '-p', String(p.child.pid), '-o', `/tmp/strace-${name}.txt`], { stdio: 'inherit' });
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 500; i++) await ask(p.url);
  st.kill('SIGINT');
  await once(st, 'exit');
}
for (const p of [gw, px, backend]) p.child.stdin!.end();
