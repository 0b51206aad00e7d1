import * as dnsPacket from 'dns-packet';
import { createSocket, Socket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  IncomingMessage,
  OutgoingHttpHeaders,
  Server as HttpServer,
  ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, createServer as createTcpServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Servers on 127.0.0.1 that the built-in plugins scan in the tests; each is closed by `close()`. */

export interface DnsServer {
  port: number;
  close(): Promise<void>;
}

/** A DNS server over UDP that answers from `records` (NOERROR and no answer for anything else). */
export async function startDnsServer(records: dnsPacket.Answer[]): Promise<DnsServer> {
  const socket: Socket = createSocket('udp4');
  socket.on('message', (message, peer) => {
    const query = dnsPacket.decode(message);
    const question = query.questions?.[0];
    const answers = records.filter((r) => question && r.name === question.name && r.type === question.type);
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: query.questions,
      answers,
    });
    socket.send(response, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** TCP listeners on free ports that accept and close connections. */
export async function startTcpListeners(count: number): Promise<{ ports: number[]; close(): Promise<void> }> {
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = createTcpServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  return {
    ports: servers.map((s) => (s.address() as AddressInfo).port),
    close: async () => {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (taken, then released). */
export async function closedPort(): Promise<number> {
  const listeners = await startTcpListeners(1);
  await listeners.close();
  return listeners.ports[0];
}

export interface TestCertificate {
  key: Buffer;
  cert: Buffer;
  /** As X509Certificate reads it: serialNumber, validFrom, validTo, subject, issuer. */
  x509: X509Certificate;
}

/** A self-signed certificate for `name`, valid for `days` days, made with openssl. */
export function makeCertificate(name: string, days: number): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'kat-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        String(days),
        '-subj',
        `/CN=${name}/O=KAT test`,
        '-addext',
        `subjectAltName=DNS:${name}`,
      ],
      { stdio: 'pipe' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    return { key: readFileSync(join(dir, 'key.pem')), cert, x509: new X509Certificate(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An HTTP or HTTPS server answering every request with status 200 and exactly `headers`. */
export async function startWebServer(
  headers: OutgoingHttpHeaders,
  tls?: TestCertificate,
): Promise<{ port: number; close(): Promise<void> }> {
  const handler = (_: IncomingMessage, response: ServerResponse) => {
    response.sendDate = false;
    response.writeHead(200, { ...headers, connection: 'close', 'content-length': '0' });
    response.end();
  };
  const server: HttpServer = tls
    ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler)
    : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A TLS server that completes handshakes with `certificate` and closes. */
export async function startTlsServer(certificate: TestCertificate): Promise<{ port: number; close(): Promise<void> }> {
  return startWebServer({}, certificate);
}
