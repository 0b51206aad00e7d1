// Pushes N plugin tasks through API → Bull → worker → real container → COMPLETED and prints
// tasks/second, measured as the anchors do: N / (max(ended_at) − min(created_at)) on the database clock.
//   npm run bench -- lifecycle [N=200] [worker concurrency=4]
const { createEnvironment, waitFor, progress, saveResult, machine } = require('./harness');

const N = Number(process.argv[2] ?? 200);
const CONCURRENCY = Number(process.argv[3] ?? 4);
const PORT = 3917;
const CLIENTS = 16;

async function main() {
  const bench = await createEnvironment('kat_bench_lifecycle', { PORT: String(PORT), WORKER_CONCURRENCY: String(CONCURRENCY) });
  const apps = [bench.start('api'), bench.start('worker')];
  try {
    const base = `http://127.0.0.1:${PORT}/api/v1`;
    const adminToken = bench.kat(['create-token', '--org', 'bench', '--admin']);
    const token = bench.kat(['create-token', '--org', 'bench']);
    await waitFor('the API', async () => (await fetch(`http://127.0.0.1:${PORT}/health/ready`)).ok);
    const call = (path, tokenToUse, body) =>
      fetch(`${base}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { Authorization: `Bearer ${tokenToUse}`, 'Content-Type': 'application/json' },
        body: body && JSON.stringify(body),
      });
    const plugin = await call('/plugins/', adminToken, {
      plugin_id: 'noop', name: 'no-op', image: 'kat-busybox:latest', command: ['true'], consumes: ['hostname'], timeout_seconds: 60, memory_mb: 32,
    });
    if (plugin.status !== 201) throw new Error(`registering the plugin: ${plugin.status} ${await plugin.text()}`);

    let next = 0;
    const createOne = async () => {
      while (next < N) {
        const i = next++;
        const response = await call('/tasks/', token, { type: 'plugin', data: { plugin_id: 'noop', input_data: `internet|h${i}.bench.example` } });
        if (response.status !== 201) throw new Error(`task ${i}: ${response.status} ${await response.text()}`);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, createOne));
    let shown = -1;
    await waitFor('every task to end', async () => {
      const [{ done }] = await bench.query(`SELECT count(*)::int AS done FROM task WHERE status IN ('COMPLETED', 'FAILED')`);
      if (done !== shown) progress(`lifecycle: ${(shown = done)}/${N} tasks ended`);
      return done === N;
    }, N * 5000);
    process.stderr.write('\n');

    const [stats] = await bench.query(`
      SELECT count(*) FILTER (WHERE status = 'COMPLETED')::int AS completed,
             count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
             extract(epoch FROM max(ended_at) - min(created_at))::float AS seconds,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - created_at))::float AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - created_at))::float AS p99
      FROM task`);
    const result = {
      benchmark: 'lifecycle', plugin: 'real container (kat-busybox, `true`)', tasks: N, worker_concurrency: CONCURRENCY,
      completed: stats.completed, failed: stats.failed, seconds: round(stats.seconds),
      tasks_per_second: round(N / stats.seconds), latency_p50_s: round(stats.p50), latency_p99_s: round(stats.p99),
      machine: machine(), at: new Date().toISOString(),
    };
    console.log(`lifecycle: ${N} tasks, worker concurrency ${CONCURRENCY}, real containers: ${result.tasks_per_second} tasks/s ` +
      `(${result.completed} COMPLETED, ${result.failed} FAILED in ${result.seconds} s; creation→end p50 ${result.latency_p50_s} s, p99 ${result.latency_p99_s} s)`);
    console.log(`saved ${saveResult('lifecycle', result)}`);
  } finally {
    for (const app of apps) app.kill('SIGTERM');
    await Promise.all(apps.map((app) => new Promise((r) => (app.exitCode !== null ? r() : app.once('exit', r)))));
    await bench.drop();
  }
}

const round = (x) => Math.round(x * 100) / 100;

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
