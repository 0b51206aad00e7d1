'use strict';
// ssl_certificate (consumes hostname or ipport): a TLS handshake that reads the peer certificate
// (valid or not) and reports it as a certificate object. Settings: PORT (for a hostname, default
// 443), TIMEOUT_MS (default 10000).
const net = require('node:net');
const tls = require('node:tls');
const { input, setting, emit, run } = require('./kat');

function distinguishedName(fields) {
  return Object.entries(fields || {}).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`).join(',');
}

function peerCertificate(host, port, servername, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername, rejectUnauthorized: false }, () => {
      const certificate = socket.getPeerCertificate();
      socket.end();
      if (!certificate || !certificate.serialNumber) reject(new Error(`${host}:${port} sent no certificate`));
      else resolve(certificate);
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`)));
    socket.once('error', reject);
  });
}

run(async () => {
  const isPort = input.object_type === 'ipport';
  const host = isPort ? input.address : input.name;
  const port = isPort ? Number(input.port) : Number(setting('port', 443));
  const servername = isPort || net.isIP(host) !== 0 ? undefined : host; // SNI takes names only
  const certificate = await peerCertificate(host, port, servername, Number(setting('timeout_ms', 10000)));
  emit('certificate', {
    network: input.network,
    hostname: host,
    port,
    serial: certificate.serialNumber.toUpperCase(),
    subject: distinguishedName(certificate.subject),
    issuer: distinguishedName(certificate.issuer),
    not_before: new Date(certificate.valid_from).toISOString(),
    not_after: new Date(certificate.valid_to).toISOString(),
  });
});
