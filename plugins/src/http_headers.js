'use strict';
// http_headers (consumes hostname): requests https://<name>/ and, if that does not answer,
// http://<name>/, and reports each response header as an httpheader object. Business rules judge
// them (missing security headers); the plugin only observes. Settings: HTTPS_PORT (443),
// HTTP_PORT (80), TIMEOUT_MS (10000).
const http = require('node:http');
const https = require('node:https');
const { input, setting, emit, log, run } = require('./kat');

const MAX_VALUE = 4096;

function head(scheme, host, port, timeoutMs) {
  const client = scheme === 'https' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request({ host, port, path: '/', method: 'GET', rejectUnauthorized: false, timeout: timeoutMs, headers: { 'User-Agent': 'kat-http-headers' } }, (response) => {
      response.resume();
      resolve(response);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end();
  });
}

run(async () => {
  const { network, name } = input;
  const timeoutMs = Number(setting('timeout_ms', 10000));
  const attempts = [['https', Number(setting('https_port', 443))], ['http', Number(setting('http_port', 80))]];
  const errors = [];
  for (const [scheme, port] of attempts) {
    try {
      const response = await head(scheme, name, port, timeoutMs);
      for (const [header, value] of Object.entries(response.headers)) {
        const text = Array.isArray(value) ? value.join(', ') : String(value);
        emit('httpheader', { network, hostname: name, scheme, port, name: header.toLowerCase(), value: text.slice(0, MAX_VALUE) });
      }
      log(`${scheme}://${name}:${port}/ answered ${response.statusCode}`);
      return;
    } catch (error) {
      errors.push(`${scheme}://${name}:${port}/: ${error.message}`);
    }
  }
  throw new Error(`no HTTP answer: ${errors.join('; ')}`);
});
