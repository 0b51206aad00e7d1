'use strict';
// dns_records (consumes hostname): the hostname's A, AAAA, CNAME, MX, NS, TXT and CAA records, as
// dnsrecord objects, with the addresses (ipaddress) and names (hostname) they point to; and the
// DMARC policy, the TXT record of _dmarc.<hostname>.
// Settings: RESOLVER (e.g. "192.0.2.53" or "127.0.0.1:5353"; default: the system's), TIMEOUT_MS.
const { Resolver } = require('node:dns').promises;
const { input, setting, emit, log, run } = require('./kat');

const EMPTY = new Set(['ENODATA', 'ENOTFOUND', 'NOTFOUND', 'ENOTIMP']);

run(async () => {
  const { network, name } = input;
  const resolver = new Resolver({ timeout: Number(setting('timeout_ms', 5000)), tries: 2 });
  if (setting('resolver')) resolver.setServers(setting('resolver').split(','));

  const queries = {
    A: () => resolver.resolve4(name, { ttl: true }).then((rs) => rs.map((r) => ({ value: r.address, ttl: r.ttl, address: r.address }))),
    AAAA: () => resolver.resolve6(name, { ttl: true }).then((rs) => rs.map((r) => ({ value: r.address, ttl: r.ttl, address: r.address }))),
    CNAME: () => resolver.resolveCname(name).then((rs) => rs.map((target) => ({ value: target, name: target }))),
    MX: () => resolver.resolveMx(name).then((rs) => rs.map((r) => ({ value: `${r.priority} ${r.exchange}`, name: r.exchange }))),
    NS: () => resolver.resolveNs(name).then((rs) => rs.map((target) => ({ value: target, name: target }))),
    TXT: () => resolver.resolveTxt(name).then((rs) => rs.map((chunks) => ({ value: chunks.join('') }))),
    CAA: () => resolver.resolveCaa(name).then((rs) => rs.map((r) => {
      // Node 24 adds type: 'CAA' beside critical and the one tag (issue, issuewild, iodef…).
      const [tag, value] = Object.entries(r).find(([key]) => key !== 'critical' && key !== 'type');
      return { value: `${r.critical} ${tag} "${value}"` };
    })),
  };

  let answered = 0;
  const failures = [];
  for (const [recordType, query] of Object.entries(queries)) {
    let records;
    try {
      records = await query();
      answered++;
    } catch (error) {
      if (EMPTY.has(error.code)) {
        answered++;
        continue;
      }
      failures.push(`${recordType}: ${error.code || error.message}`);
      continue;
    }
    for (const record of records) {
      emit('dnsrecord', { network, hostname: name, record_type: recordType, value: record.value, ...(record.ttl !== undefined && { ttl: record.ttl }) });
      if (record.address) emit('ipaddress', { network, address: record.address });
      if (record.name) emit('hostname', { network, name: record.name });
    }
  }
  if (!name.startsWith('_')) {
    try {
      for (const chunks of await resolver.resolveTxt(`_dmarc.${name}`)) {
        emit('dnsrecord', { network, hostname: `_dmarc.${name}`, record_type: 'TXT', value: chunks.join('') });
      }
    } catch (error) {
      if (!EMPTY.has(error.code)) failures.push(`_dmarc TXT: ${error.code || error.message}`);
    }
  }
  if (failures.length > 0) log(`some queries failed: ${failures.join(', ')}`);
  if (answered === 0) throw new Error(`no DNS answer for ${name}: ${failures.join(', ')}`);
});
