import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The lowest port the OS gives the local end of an outgoing connection (Linux's default when unreadable). */
function lowestEphemeralPort(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 0) return low;
  } catch {
    // not Linux: the default range
  }
  return 32768;
}

function listensOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port nothing listens on now, for a server a test is about to start (or restart), chosen below
 * the ephemeral range: a port in it can be taken at any moment as the local end of an outgoing
 * connection (a CI run lost a PostgreSQL start that way). Another test's server can still take it
 * first, so a caller that starts a server retries on a busy port.
 */
export async function freePort(): Promise<number> {
  const low = lowestEphemeralPort();
  const first = 20_000;
  for (let tries = 0; tries < 50 && low > first; tries++) {
    const port = first + Math.floor(Math.random() * (low - first));
    if (await listensOn(port)) return port;
  }
  throw new Error(`no free port found between ${first} and ${low}`);
}
