// The API under load with autocannon, with TASKS tasks in the table: GET /api/v1/tasks/ (newest
// first, a page of 50, as fast as it answers and at a steady 100 per second; and filtered by status),
// GET /api/v1/tasks/stats/ (the dashboard's counts, one at a time) and POST /api/v1/tasks/ (each a new task);
// requests/second and latency percentiles, and the api's resident memory idle and after the load.
//   npm run bench -- api [TASKS=1000000] [seconds per run=10] [connections=10]
const http = require('node:http');
const autocannon = require('autocannon');
const { createEnvironment, waitFor, progress, rssMb, cpuMeter, saveResult, machine, run } = require('./harness');

const TASKS = Number(process.argv[2] ?? 1_000_000);
const SECONDS = Number(process.argv[3] ?? 10);
const CONNECTIONS = Number(process.argv[4] ?? 10);
const PORT = 3919;

function load(title, options) {
  return new Promise((resolve, reject) => {
    const { path, ...rest } = options;
    const cpu = cpuMeter();
    autocannon({ url: `http://127.0.0.1:${PORT}${path}`, duration: SECONDS, connections: CONNECTIONS, ...rest }, (error, result) => {
      if (error) return reject(error);
      const summary = {
        cpu: cpu(),
        requests_per_second: Math.round(result.requests.average),
        latency_ms: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
        non_2xx: result.non2xx, errors: result.errors, status_codes: result.statusCodeStats,
      };
      console.log(`api ${title}: ${summary.requests_per_second} requests/s, p50 ${summary.latency_ms.p50} ms, p99 ${summary.latency_ms.p99} ms` +
        ` (CPU ${summary.cpu.busy_pct} % busy, ${summary.cpu.steal_pct} % stolen)` +
        (summary.non_2xx || summary.errors ? ` (${summary.non_2xx} non-2xx: ${JSON.stringify(summary.status_codes)}, ${summary.errors} errors)` : ""));
      resolve(summary);
    });
  });
}

/**
 * An open-loop load: one request every 1/rate seconds, evenly spaced, whatever the answers do (up to
 * 64 at once), each timed from the moment it was due. autocannon's `overallRate` cannot do this: each
 * connection sends its share of a second back to back when the second begins, then waits, so its
 * "paced" figures are bursts of the saturated case (and its correction for coordinated omission
 * assumes 1 ms between requests). This is the latency a client sees while the API is not saturated.
 */
function paced(title, { path, headers, rate }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const cpu = cpuMeter();
  const latencies = [];
  let failures = 0;
  const total = rate * SECONDS;
  const started = performance.now();
  return new Promise((resolve) => {
    let sent = 0;
    let done = 0;
    const finish = () => {
      agent.destroy();
      latencies.sort((a, b) => a - b);
      const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10;
      const seconds = (performance.now() - started) / 1000;
      const summary = { cpu: cpu(), requests_per_second: Math.round(total / seconds), requests: total, failures,
        latency_ms: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) } };
      console.log(`api ${title}: ${rate} requests/s evenly spaced (${summary.requests_per_second} done), p50 ${summary.latency_ms.p50} ms, p90 ${summary.latency_ms.p90} ms, ` +
        `p99 ${summary.latency_ms.p99} ms, max ${summary.latency_ms.max} ms (CPU ${summary.cpu.busy_pct} % busy, ${summary.cpu.steal_pct} % stolen)` +
        (failures ? ` (${failures} failed)` : ''));
      resolve(summary);
    };
    // Each request ends once, on 'close' (an answer, an error, a connection dropped mid-answer or a
    // timeout); a failure counts in the latencies too, as the wait it was.
    const send = (due) => {
      let ok = false;
      const request = http.get({ host: '127.0.0.1', port: PORT, path, headers, agent, timeout: 10_000 }, (response) => {
        response.resume();
        response.on('end', () => (ok = response.statusCode === 200));
      });
      request.on('timeout', () => request.destroy(new Error('timed out')));
      request.on('error', () => {});
      request.on('close', () => {
        if (!ok) failures++;
        latencies.push(performance.now() - due);
        if (++done === total) finish();
      });
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && started + (sent * 1000) / rate <= now) send(started + (sent++ * 1000) / rate);
      if (sent < total) setTimeout(tick, Math.max(0, started + (sent * 1000) / rate - performance.now()));
    };
    tick();
  });
}

async function main() {
  const bench = await createEnvironment('kat_bench_api', { PORT: String(PORT), LOG_LEVEL: 'warn' });
  const api = bench.start('api');
  try {
    const token = bench.kat(['create-token', '--org', 'acme']);
    const admin = bench.kat(['create-token', '--org', 'acme', '--admin']);
    progress(`api: inserting ${TASKS} tasks`);
    await bench.query(`
      INSERT INTO task (organization_id, type, status, data, created_at, started_at, ended_at, attempts)
      SELECT o.id, 'plugin', CASE WHEN i % 50 = 0 THEN 'FAILED' ELSE 'COMPLETED' END,
             jsonb_build_object('plugin_id', 'p' || (i % 5), 'input_data', 'internet|h' || i || '.example'),
             now() - make_interval(secs => i * 2), now() - make_interval(secs => i * 2 - 1), now() - make_interval(secs => i * 2 - 2), 1
      FROM organization o, generate_series(1, $1) i WHERE o.code = 'acme'`, [TASKS]);
    // As autovacuum leaves a table that has been there a while: without the visibility map, each
    // count's index-only scan reads the heap too (and sets hint bits, writing), and the figures then
    // depend on whether autovacuum happened to run before the measurement.
    await bench.query('VACUUM ANALYZE task');
    process.stderr.write('\n');
    await waitFor('the API', async () => (await fetch(`http://127.0.0.1:${PORT}/health/ready`)).ok);
    await fetch(`http://127.0.0.1:${PORT}/api/v1/plugins/`, {
      method: 'POST', headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ plugin_id: 'noop', name: 'noop', image: 'kat-busybox:latest', command: ['true'], consumes: ['hostname'] }),
    });
    const idle = rssMb(api.pid);
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const list = await load('GET /tasks/ (50 newest)', { path: '/api/v1/tasks/?limit=50', headers });
    // The same list at a steady 100 requests/s, below saturation: the latency a client sees when the
    // API is not the bottleneck (at saturation, p99 is mostly the queue of the other connections).
    const listPaced = await paced('GET /tasks/ (50 newest)', { path: '/api/v1/tasks/?limit=50', headers, rate: 100 });
    const listPacedMore = await paced('GET /tasks/ (50 newest)', { path: '/api/v1/tasks/?limit=50', headers, rate: 200 });
    const failed = await load('GET /tasks/?status=FAILED', { path: '/api/v1/tasks/?status=FAILED&limit=50', headers });
    // The dashboard's counts, one request at a time (the time a dashboard waits): 24 hourly buckets
    // (43,200 of the tasks), and 30 daily ones (all of them).
    const statsDay = await load('GET /tasks/stats/ (24 hours by the hour), 1 connection', { path: '/api/v1/tasks/stats/', headers, connections: 1 });
    const statsMonth = await load('GET /tasks/stats/ (30 days by the day), 1 connection', {
      path: `/api/v1/tasks/stats/?bucket=day&since=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`, headers, connections: 1,
    });
    let n = 0;
    const create = await load('POST /tasks/', {
      method: 'POST', path: '/api/v1/tasks/', headers,
      requests: [{ method: 'POST', path: '/api/v1/tasks/', setupRequest: (request) => ({ ...request, body: JSON.stringify({ type: 'plugin', data: { plugin_id: 'noop', input_data: `internet|new${n++}.example` } }) }) }],
    });
    const loaded = rssMb(api.pid);
    console.log(`api resident memory: ${idle} MB idle, ${loaded} MB after the load`);
    const result = { benchmark: 'api', tasks_in_table: TASKS, seconds_per_run: SECONDS, connections: CONNECTIONS, list, list_at_100_per_second: listPaced, list_at_200_per_second: listPacedMore, list_failed: failed, stats_24_hours: statsDay, stats_30_days: statsMonth, create,
      rss_mb: { idle, after_load: loaded }, machine: machine(), at: new Date().toISOString() };
    console.log(`saved ${saveResult('api', result)}`);
  } finally {
    await bench.drop();
  }
}

run(main);
