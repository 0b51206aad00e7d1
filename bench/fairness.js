// Fair dispatch under a backlog: organization A ("acme") has BACKLOG plugin tasks waiting (bulk, priority
// 5) plus LIMITED tasks of a rate-limited plugin; organization B ("globex") then submits one task per
// second for SECONDS seconds at the same priority 5, so what B sees is the organizations' turn-taking,
// not priority. Measured from the task rows (database clock) once B's last task has ended: B's start
// latency (started_at − created_at), A's starts per second meanwhile, and whether the rate limit held.
//   npm run bench -- fairness [backlog=100000] [seconds=60]
// The plugins run under PLUGIN_RUNNER=process as `sh -c 'sleep 0.05'`: a 50 ms run without the
// container engine, so the figures are the admission's; spawning costs a few ms of the worker's CPU each.
const { createEnvironment, waitFor, progress, saveResult, machine, run, apiCaller } = require('./harness');

const BACKLOG = Number(process.argv[2] ?? 100_000);
const SECONDS = Number(process.argv[3] ?? 60);
const LIMITED = 300;
const RATE_LIMIT = { key: 'one-api', concurrency: 2, per_minute: 120 };
const PRIORITY = 5; // the bulk default: A's backlog and B's tasks are equal, only turns tell them apart
const CONCURRENCY = 8;
const RUN_SECONDS = 0.05;
const BULK_SIZE = 1000;
const PORT = 3920;

async function main() {
  const bench = await createEnvironment('kat_bench_fairness', {
    PORT: String(PORT), WORKER_CONCURRENCY: String(CONCURRENCY), PLUGIN_RUNNER: 'process',
  });
  bench.start('api');
  bench.start('worker');
  try {
    const adminToken = bench.kat(['create-token', '--org', 'acme', '--admin']);
    const tokenA = bench.kat(['create-token', '--org', 'acme']);
    const tokenB = bench.kat(['create-token', '--org', 'globex']);
    await waitFor('the API', async () => (await fetch(`http://127.0.0.1:${PORT}/health/ready`)).ok);
    const call = apiCaller(PORT);
    const created = async (response, what) => {
      if (response.status !== 201) throw new Error(`${what}: ${response.status} ${await response.text()}`);
    };
    // With the process runner the image is unused: the command runs on the worker's host.
    const plugin = { image: 'kat-busybox:latest', command: ['sh', '-c', `sleep ${RUN_SECONDS}`], consumes: ['hostname'], timeout_seconds: 60 };
    await created(await call('/plugins/', adminToken, { plugin_id: 'sweep', name: 'sweep', ...plugin }), 'registering sweep');
    await created(await call('/plugins/', adminToken, { plugin_id: 'limited', name: 'limited', ...plugin, rate_limit: RATE_LIMIT }), 'registering limited');
    const queues = async () => (await (await call('/queues/', adminToken)).json()).results;
    await waitFor('the worker', async () => (await queues()).some((q) => q.name === 'plugin' && q.workers.length > 0));

    // A's backlog: the limited tasks first (the oldest, so they wait on their key, not behind the
    // sweep), then the sweep, by POST /tasks/bulk/ of 1000 at the bulk default priority.
    const backlog = [
      ...Array.from({ length: LIMITED }, (_, i) => ({ plugin_id: 'limited', input_data: `internet|l-${i}.example.com` })),
      ...Array.from({ length: BACKLOG }, (_, i) => ({ plugin_id: 'sweep', input_data: `internet|a-${i}.example.com` })),
    ];
    for (let first = 0; first < backlog.length; first += BULK_SIZE) {
      progress(`fairness: A's backlog ${first}/${backlog.length} submitted`);
      await created(await call('/tasks/bulk/', tokenA, { tasks: backlog.slice(first, first + BULK_SIZE) }), `A's tasks from ${first}`);
    }
    process.stderr.write('\n');

    // B: one POST /tasks/ a second, on a fixed clock (not after the previous answer, so a slow
    // answer does not stretch the run).
    const t0 = Date.now();
    const posts = [];
    for (let i = 0; i < SECONDS; i++) {
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + i * 1000 - Date.now())));
      progress(`fairness: B ${i + 1}/${SECONDS} submitted`);
      posts.push(call('/tasks/', tokenB, { type: 'plugin', priority: PRIORITY, data: { plugin_id: 'sweep', input_data: `internet|b-${i}.example.com` } })
        .then((response) => created(response, `B's task ${i}`)));
    }
    await Promise.all(posts);
    process.stderr.write('\n');
    const orgTasks = (code) => `task t JOIN organization o ON o.id = t.organization_id AND o.code = '${code}'`;
    let shown = -1;
    await waitFor("B's tasks to end", async () => {
      const [{ done }] = await bench.query(`SELECT count(*)::int AS done FROM ${orgTasks('globex')} WHERE t.status IN ('COMPLETED', 'FAILED')`);
      if (done !== shown) progress(`fairness: ${(shown = done)}/${SECONDS} of B's tasks ended`);
      return done === SECONDS;
    }, 120_000);
    process.stderr.write('\n');

    const [b] = await bench.query(`
      SELECT count(*) FILTER (WHERE t.status = 'COMPLETED')::int AS completed, count(*) FILTER (WHERE t.status = 'FAILED')::int AS failed,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.started_at - t.created_at))::float * 1000 AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM t.started_at - t.created_at))::float * 1000 AS p99,
             max(extract(epoch FROM t.started_at - t.created_at))::float * 1000 AS max,
             min(t.created_at) AS from, max(t.ended_at) AS to, extract(epoch FROM max(t.ended_at) - min(t.created_at))::float AS seconds
      FROM ${orgTasks('globex')}`);
    // B's run: from its first task's creation to its last task's end.
    const [a] = await bench.query(`
      SELECT count(*)::int AS started, count(*) FILTER (WHERE t.plugin_id = 'limited')::int AS limited_started,
             avg(extract(epoch FROM t.ended_at - t.started_at))::float * 1000 AS run_ms
      FROM ${orgTasks('acme')} WHERE t.started_at BETWEEN $1 AND $2`, [b.from, b.to]);
    // run_ms: claim to end of A's tasks; what exceeds the 50 ms sleep is spawning and bookkeeping.
    // Most limited tasks running at once: +1 at each start, −1 at each end, an end before a start
    // at the same instant (the limit frees a slot at the end's commit, before the next claim).
    const [overlap] = await bench.query(`
      WITH runs AS (SELECT started_at, ended_at FROM task WHERE plugin_id = 'limited' AND started_at IS NOT NULL),
      events AS (SELECT started_at AS at, 1 AS d FROM runs UNION ALL SELECT ended_at, -1 FROM runs WHERE ended_at IS NOT NULL)
      SELECT coalesce(max(running), 0)::int AS max FROM (SELECT sum(d) OVER (ORDER BY at, d ROWS UNBOUNDED PRECEDING) AS running FROM events) x`);
    // Most limited starts in any 60 s: the window opening at each start, [start, start + 60 s).
    const [window] = await bench.query(`
      WITH s AS (SELECT started_at AS at FROM task WHERE plugin_id = 'limited' AND started_at IS NOT NULL)
      SELECT coalesce(max((SELECT count(*) FROM s s2 WHERE s2.at >= s1.at AND s2.at < s1.at + interval '60 seconds')), 0)::int AS max,
             (SELECT count(*) FROM s)::int AS started FROM s s1`);

    const result = {
      benchmark: 'fairness',
      plugin: `process runner: \`sh -c 'sleep ${RUN_SECONDS}'\` as a child process, no container`,
      worker_concurrency: CONCURRENCY,
      a_backlog: { sweep: BACKLOG, limited: LIMITED, creation: `POST /tasks/bulk/ of ${BULK_SIZE}`, priority: PRIORITY },
      b: { tasks: SECONDS, creation: 'one POST /tasks/ a second', priority: PRIORITY, completed: b.completed, failed: b.failed },
      b_start_latency_ms: { p50: Math.round(b.p50), p99: Math.round(b.p99), max: Math.round(b.max) },
      target_p99_under_2s: b.p99 < 2000,
      b_run_seconds: round(b.seconds),
      a_started_per_second: round(a.started / b.seconds),
      a_ceiling_per_second: CONCURRENCY / RUN_SECONDS,
      a_run_ms_mean: Math.round(a.run_ms),
      limited: {
        rate_limit: RATE_LIMIT, started_during_b_run: a.limited_started, started_in_all: window.started,
        max_running_at_once: overlap.max, max_starts_in_any_60s: window.max,
      },
      machine: machine(), at: new Date().toISOString(),
    };
    console.log(`fairness: A ${BACKLOG} + ${LIMITED} limited waiting, B 1 task/s for ${SECONDS} s, both at priority ${PRIORITY} (turn-taking, not priority), ` +
      `worker concurrency ${CONCURRENCY}, ${RUN_SECONDS * 1000} ms process runs: B start latency p50 ${result.b_start_latency_ms.p50} ms, ` +
      `p99 ${result.b_start_latency_ms.p99} ms, max ${result.b_start_latency_ms.max} ms (target p99 < 2 s: ${result.target_p99_under_2s ? 'met' : 'missed'}); ` +
      `A ${result.a_started_per_second} starts/s meanwhile (ceiling ${result.a_ceiling_per_second}, runs ${result.a_run_ms_mean} ms on average); ` +
      `"${RATE_LIMIT.key}": at most ${overlap.max} running at once (limit ${RATE_LIMIT.concurrency}), ` +
      `at most ${window.max} starts in any 60 s (limit ${RATE_LIMIT.per_minute}), ${window.started} started in all`);
    console.log(JSON.stringify(result, null, 2));
    console.log(`saved ${saveResult('fairness', result)}`);
  } finally {
    await bench.drop();
  }
}

const round = (x) => Math.round(x * 100) / 100;

run(main);
