// Every business rule over N hostnames with their DNS records, certificates, ports and headers,
// all scanned by COMPLETED tasks, run as one business_rule task ("all") through `kat run-task`:
// prints the seconds each rule took, twice (first evaluation creates the findings, the second
// finds them all in place).
//   npm run bench -- business-rules [N=100000]
const { createEnvironment, progress, saveResult, machine, run } = require('./harness');

const N = Number(process.argv[2] ?? 100_000);

async function fill(bench) {
  const q = (sql, params) => bench.query(sql, params);
  await q(`INSERT INTO organization (code, name) VALUES ('bench', 'bench')`);
  bench.kat(['seed']);
  const object = (type, key, data) => `INSERT INTO object (organization_id, object_type, primary_key, data)
    SELECT o.id, '${type}', ${key}, ${data} FROM organization o, generate_series(1, $1) i WHERE o.code = 'bench'`;
  const host = `'h' || i || '.bench.example'`;
  await q(object('hostname', `'internet|' || ${host}`, `jsonb_build_object('network', 'internet', 'name', ${host})`), [N]);
  await q(object('dnsrecord', `'internet|' || ${host} || '|A|192.0.2.' || (i % 250)`, `jsonb_build_object('network', 'internet', 'hostname', ${host}, 'record_type', 'A', 'value', '192.0.2.' || (i % 250))`), [N]);
  // Half have SPF, a third DMARC, a quarter CAA.
  await q(`${object('dnsrecord', `'internet|' || ${host} || '|TXT|v=spf1 -all'`, `jsonb_build_object('network', 'internet', 'hostname', ${host}, 'record_type', 'TXT', 'value', 'v=spf1 -all')`)} AND i % 2 = 0`, [N]);
  await q(`${object('dnsrecord', `'internet|_dmarc.' || ${host} || '|TXT|v=DMARC1; p=reject'`, `jsonb_build_object('network', 'internet', 'hostname', '_dmarc.' || ${host}, 'record_type', 'TXT', 'value', 'v=DMARC1; p=reject')`)} AND i % 3 = 0`, [N]);
  await q(`${object('dnsrecord', `'internet|' || ${host} || '|CAA|0 issue "letsencrypt.org"'`, `jsonb_build_object('network', 'internet', 'hostname', ${host}, 'record_type', 'CAA', 'value', '0 issue "letsencrypt.org"')`)} AND i % 4 = 0`, [N]);
  // A certificate per ten hostnames, a tenth of them expiring; headers on every tenth hostname.
  await q(`${object('certificate', `'internet|' || ${host} || '|443|' || to_hex(i)`, `jsonb_build_object('network', 'internet', 'hostname', ${host}, 'port', 443, 'serial', to_hex(i), 'subject', 'CN=x', 'issuer', 'CN=y', 'not_before', '2026-01-01T00:00:00.000Z', 'not_after', (now() + make_interval(days => CASE WHEN i % 100 = 0 THEN 5 ELSE 90 END))::text)`)} AND i % 10 = 0`, [N]);
  await q(`${object('httpheader', `'internet|' || ${host} || '|https|443|server'`, `jsonb_build_object('network', 'internet', 'hostname', ${host}, 'scheme', 'https', 'port', 443, 'name', 'server', 'value', 'x')`)} AND i % 10 = 0`, [N]);
  await q(`${object('ipport', `'internet|192.0.2.' || (i % 250) || '|tcp|' || (ARRAY[22, 80, 443, 5432])[i % 4 + 1]`, `jsonb_build_object('network', 'internet', 'address', '192.0.2.' || (i % 250), 'protocol', 'tcp', 'port', (ARRAY[22, 80, 443, 5432])[i % 4 + 1], 'state', 'open')`)} AND i <= 1000 ON CONFLICT DO NOTHING`, [N]);
  // The scans: COMPLETED tasks that took each hostname as input, and produced the certificates and ports.
  for (const plugin of ['dns_records', 'http_headers']) {
    await q(`INSERT INTO task (organization_id, type, status, data) SELECT organization_id, 'plugin', 'COMPLETED', jsonb_build_object('plugin_id', $1::text, 'input_data', primary_key)
             FROM object WHERE object_type = 'hostname'`, [plugin]);
  }
  for (const [plugin, type] of [['ssl_certificate', 'certificate'], ['port_scan', 'ipport']]) {
    const [task] = await q(`INSERT INTO task (organization_id, type, status, data) SELECT id, 'plugin', 'COMPLETED', jsonb_build_object('plugin_id', $1::text, 'input_data', 'internet|bench') FROM organization WHERE code = 'bench' RETURNING id`, [plugin]);
    await q(`INSERT INTO object_task (organization_id, task_id, plugin_id, input_object, output_type, output_object)
             SELECT organization_id, $1, $2, 'internet|bench', object_type, primary_key FROM object WHERE object_type = $3`, [task.id, plugin, type]);
  }
  await q('ANALYZE');
}

async function evaluate(bench) {
  const [task] = await bench.query(`INSERT INTO task (organization_id, type, data) SELECT id, 'business_rule', '{"rule_id": "all"}' FROM organization WHERE code = 'bench' RETURNING id`);
  const out = JSON.parse(bench.kat(['run-task', task.id]));
  if (out.task.status !== 'COMPLETED') throw new Error(JSON.stringify(out.task.data));
  return out.task.data.result;
}

async function main() {
  const bench = await createEnvironment('kat_bench_rules');
  try {
    progress(`business-rules: filling ${N} hostnames and their records`);
    await fill(bench);
    process.stderr.write('\n');
    const first = await evaluate(bench);
    const second = await evaluate(bench);
    for (const [label, run] of [['first', first], ['again', second]]) {
      console.log(`business-rules over ${N} hostnames, ${label}: ` + run.rules.map((r) => `${r.rule_id} ${(r.duration_ms / 1000).toFixed(2)} s (${r.total})`).join(', '));
    }
    console.log(`saved ${saveResult('business-rules', { benchmark: 'business-rules', hostnames: N, first, again: second, machine: machine(), at: new Date().toISOString() })}`);
  } finally {
    await bench.drop();
  }
}

run(main);
