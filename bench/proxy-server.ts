// The floor for any Node gateway: a bare proxy in its own process, in front of the backend at
// argv[2], printing its URL. argv[3] 'http': node:http to node:http with a keep-alive agent,
// bytes piped as they come. 'fetch': the body forwarded with fetch (as cortex's adapters call a
// backend) and its bytes written as they come. No parsing, no pool, no checks: what is left of a
// gateway's added time when it does nothing.
import { Agent, createServer, request } from 'node:http';

const backend = new URL(process.argv[2]!);
const mode = process.argv[3] === 'fetch' ? 'fetch' : 'http';
const agent = new Agent({ keepAlive: true, maxSockets: 1_000 });

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (b: Buffer) => parts.push(b));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    if (mode === 'http') {
      const up = request({ host: backend.hostname, port: backend.port, path: req.url, method: req.method, agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (r) => {
        res.writeHead(r.statusCode ?? 502, { 'content-type': r.headers['content-type'] ?? 'application/x-ndjson' });
        r.pipe(res);
      });
      up.end(body);
      return;
    }
    void (async () => {
      const r = await fetch(new URL(req.url ?? '/', backend), { method: req.method, headers: { 'content-type': 'application/json' }, body });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/x-ndjson' });
      for await (const bytes of r.body!) res.write(bytes);
      res.end();
    })();
  });
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as { port: number }).port}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => server.close(() => process.exit(0)));
