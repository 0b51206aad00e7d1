'use strict';
// port_scan (consumes ipaddress): a TCP connect scan; each open port becomes an ipport object.
// Settings: PORTS (e.g. "22,80,443,8000-8010"; default: common service ports), TIMEOUT_MS
// (per connection, default 1000), CONCURRENCY (connections at once, default 100).
const net = require('node:net');
const { input, setting, emit, log, run } = require('./kat');

const COMMON_PORTS = '21,22,23,25,53,80,110,143,443,445,465,587,993,995,1433,1521,2375,3306,3389,5432,5900,6379,8000,8080,8443,9200,27017';
const MAX_PORTS = 65535;

function parsePorts(spec) {
  const ports = new Set();
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [from, to = from] = part.split('-').map(Number);
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to > 65535 || from > to) throw new Error(`PORTS: "${part}" is not a port or a range of ports`);
    for (let port = from; port <= to; port++) ports.add(port);
  }
  if (ports.size > MAX_PORTS) throw new Error('PORTS: too many ports');
  return [...ports];
}

function isOpen(address, port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (open) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

run(async () => {
  const { network, address } = input;
  const ports = parsePorts(setting('ports', COMMON_PORTS));
  const timeoutMs = Number(setting('timeout_ms', 1000));
  const concurrency = Math.max(1, Number(setting('concurrency', 100)));
  let next = 0;
  let open = 0;
  const scanNext = async () => {
    while (next < ports.length) {
      const port = ports[next++];
      if (await isOpen(address, port, timeoutMs)) {
        open++;
        emit('ipport', { network, address, protocol: 'tcp', port, state: 'open' });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ports.length) }, scanNext));
  log(`${address}: ${open} of ${ports.length} TCP ports open`);
});
