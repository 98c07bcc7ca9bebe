import { createServer, type Socket } from 'node:net';

/**
 * A TCP server on a free loopback port, for fault tests (a proxy, a server that is not Redis):
 * `onSocket` gets each connection; `close()` destroys every connection and stops the server.
 */
export async function listenTcp(onSocket: (s: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
