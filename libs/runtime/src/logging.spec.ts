import { once } from 'node:events';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { pinoHttp } from 'pino-http';
import { requestLogOptions } from './logging';

/** The request line the API logs, written by pino-http itself with the API's options. */
describe('request log', () => {
  async function logOf(path: string, headers: Record<string, string>) {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const log = pinoHttp(requestLogOptions({ LOG_LEVEL: 'log', LOG_FORMAT: 'json' }), stream);
    const server = createServer((req, res) => {
      log(req, res);
      res.setHeader('Set-Cookie', 'kat_session=session-secret');
      res.statusCode = 201;
      res.end('{}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      await (await fetch(`http://127.0.0.1:${port}${path}`, { headers })).text();
      await new Promise((resolve) => setImmediate(resolve));
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    } finally {
      server.close();
    }
  }

  it('logs each request with its method, URL, client, status and time, and never its token or cookies', async () => {
    const lines = await logOf('/api/v1/tasks/?limit=5', {
      Authorization: 'Bearer token-secret',
      Cookie: 'kat_session=cookie-secret',
      'User-Agent': 'kat-test',
      'X-Forwarded-For': '192.0.2.7',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request completed',
      req: {
        method: 'GET',
        url: '/api/v1/tasks/?limit=5',
        remoteAddress: '127.0.0.1',
        forwardedFor: '192.0.2.7',
        userAgent: 'kat-test',
      },
      res: { statusCode: 201 },
      responseTime: expect.any(Number),
    });
    expect(JSON.stringify(lines[0])).not.toMatch(/secret/);
  });

  it('leaves out health probes and metric scrapes', async () => {
    expect(await logOf('/health/ready', {})).toEqual([]);
  });
});
