import { createServer } from 'node:net';

/**
 * A port nothing listens on or is connected from now (the OS's choice), for a process about to listen.
 * Another process can still take it before ours binds, so a caller that starts a server retries on a busy port.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
