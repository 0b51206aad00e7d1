// Pushes N plugin tasks through API → Bull → worker → COMPLETED and prints tasks/second, measured
// as the anchors do: N / (max(ended_at) − min(created_at)) on the database clock, and the latency
// from creation to COMPLETED. Creation and the final status are durable commits before they are
// answered / acknowledged; the worker's claims and endings are batched (one commit for many).
//   npm run bench -- lifecycle [N=200] [worker concurrency=4] [--engine]      plugins in real containers
//     --engine: first the engine's own cycle for the same container, N at concurrency 1, 4 and 8
//       (bench/engine.js), and the worker's tasks/s as a share of the engine's at its concurrency.
//   npm run bench -- lifecycle [N=5000] [concurrency=50] --pipeline [--bulk] [--celery] [--django] [--drain]
//     --pipeline: the pipeline alone, the plugin step is PLUGIN_RUNNER=noop (nothing run, as the
//       anchors' no-op plugin); BENCH_RUNNER=process runs `true` as a child process instead.
//     --bulk: tasks are created by POST /tasks/bulk/ of 500 (one INSERT and one addBulk each, as the
//       anchors' pg-bulk rows), by 2 clients; without it one POST /tasks/ per task, by 32 clients,
//       sent by the anchors' own load generator (django/loadgen.js), which also times each POST.
//     --celery: also runs the seed's Celery stack (../shared/bench/anchors, prefork 2) on the same
//       lifecycle first, in the same run, and prints the ratio.
//     --django: also runs the seed's real stack (Django + DRF + Celery behind gunicorn,
//       ../shared/bench/anchors/django) first: the same POSTs by the same load generator.
//     --drain: create every task first with no worker running, then start the worker: the worker's
//       own ceiling, N / (last ended_at − first started_at), as the anchors' DRAIN=1 rows.
const { execFile, execFileSync } = require('node:child_process');
const { promisify } = require('node:util');
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { ROOT, createEnvironment, waitFor, progress, sampleMemory, cpuMeter, processCpu, saveResult, machine, run, apiCaller } = require('./harness');
const { engineBaseline } = require('./engine');

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const [nArg, cArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const PIPELINE = flags.includes('--pipeline');
const DRAIN = flags.includes('--drain');
const BULK = flags.includes('--bulk');
const BULK_SIZE = 500;
const PLUGIN_RUNNER = process.env.BENCH_RUNNER ?? 'noop';
const RUNNERS = { noop: 'noop runner: nothing run, every plugin exits 0 at once', process: 'process runner: `true` as a child process, no container' };
const N = Number(nArg ?? (PIPELINE ? 5000 : 200));
const CONCURRENCY = Number(cArg ?? (PIPELINE ? 50 : 4));
const PORT = 3917;
const CLIENTS = PIPELINE ? 32 : 16;
const ANCHORS = join(ROOT, '..', 'shared', 'bench', 'anchors');
const LOADGEN = join(ANCHORS, 'django', 'loadgen.js');

/** The last row of the anchors' results whose bench column is `bench`: its columns. */
function lastAnchorRow(bench) {
  const rows = readFileSync('/tmp/anchors/results.tsv', 'utf8').trim().split('\n').map((line) => line.split('\t'));
  return rows.filter((row) => row[0] === bench).pop();
}

/** The seed's stack on the same lifecycle (Celery prefork 2, psycopg2), one run; tasks/s. */
function celeryBaseline() {
  if (!existsSync(join(ANCHORS, 'run_celery.sh'))) throw new Error(`no anchors at ${ANCHORS}`);
  progress(`lifecycle: the Celery baseline, ${N} tasks`);
  const cpu = cpuMeter();
  execFileSync('bash', [join(ANCHORS, 'run_celery.sh'), String(N), 'prefork2'], { env: { ...process.env, REPS: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
  // Its row: system, variant, N, rep, seconds, tasks/s, producer time.
  const last = readFileSync('/tmp/anchors/results.tsv', 'utf8').trim().split('\n').pop().split('\t');
  return { variant: 'celery prefork2', tasks_per_second: Number(last[5]), row: last, cpu: cpu() };
}

/** The seed's real stack (Django + DRF + Celery, gunicorn 2 sync workers), the same POSTs, one run. */
function djangoBaseline() {
  if (!existsSync(join(ANCHORS, 'django', 'run_django.sh'))) throw new Error(`no Django anchor in ${ANCHORS}`);
  progress(`lifecycle: the Django + DRF + Celery baseline, ${N} POSTs by ${CLIENTS} clients`);
  const cpu = cpuMeter();
  execFileSync('bash', [join(ANCHORS, 'django', 'run_django.sh'), String(N), String(CLIENTS)], {
    env: { ...process.env, REPS: '1' }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const lifecycle = lastAnchorRow('django-lifecycle');
  const post = lastAnchorRow('django-post');
  const latency = /p50 ([\d.]+) ms p99 ([\d.]+) ms/.exec(post[6]);
  return {
    variant: 'django+drf+celery, gunicorn 2 sync workers, celery prefork 2',
    tasks_per_second: Number(lifecycle[5]),
    post_per_second: Number(post[5]),
    post_latency_ms: { p50: Number(latency?.[1]), p99: Number(latency?.[2]) },
    cpu: cpu(),
  };
}

/** N POSTs of one plugin task each by CLIENTS clients (the anchors' load generator): its JSON summary. */
async function postOneByOne(port, token) {
  const body = JSON.stringify({ type: 'plugin', data: { plugin_id: 'noop', input_data: 'internet|h-[<id>].bench.example' } });
  const { stdout: out } = await promisify(execFile)(process.execPath, [LOADGEN, `http://127.0.0.1:${port}/api/v1/tasks/`, '-c', String(CLIENTS), '-n', String(N),
    '-m', 'POST', '-b', body, '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const summary = JSON.parse(out.trim().split('\n').pop());
  if (summary.ok !== N) throw new Error(`${summary.ok} of ${N} POSTs answered 2xx: ${JSON.stringify(summary.statuses)}`);
  return summary;
}

async function main() {
  const celery = flags.includes('--celery') ? celeryBaseline() : null;
  const django = flags.includes('--django') ? djangoBaseline() : null;
  const engine = flags.includes('--engine') && !PIPELINE ? await engineBaseline(N, [1, 4, 8]) : null;
  const bench = await createEnvironment('kat_bench_lifecycle', {
    PORT: String(PORT), WORKER_CONCURRENCY: String(CONCURRENCY), ...(PIPELINE && { PLUGIN_RUNNER }),
  });
  // All three apps, as deployed (the scheduler's periodic jobs run too); their memory is sampled.
  const apps = { api: bench.start('api'), scheduler: bench.start('scheduler') };
  if (!DRAIN) apps.worker = bench.start('worker');
  try {
    const adminToken = bench.kat(['create-token', '--org', 'bench', '--admin']);
    const token = bench.kat(['create-token', '--org', 'bench']);
    await waitFor('the API', async () => (await fetch(`http://127.0.0.1:${PORT}/health/ready`)).ok);
    const call = apiCaller(PORT);
    const plugin = await call('/plugins/', adminToken, {
      plugin_id: 'noop', name: 'no-op', image: 'kat-busybox:latest', command: ['true'], consumes: ['hostname'], timeout_seconds: 60, memory_mb: 32,
      // With the process runner the image is unused: `true` runs on the worker's host.
    });
    if (plugin.status !== 201) throw new Error(`registering the plugin: ${plugin.status} ${await plugin.text()}`);
    const queues = async () => (await (await call('/queues/', adminToken)).json()).results;
    if (!DRAIN) await waitFor('the worker', async () => (await queues()).some((q) => q.name === 'plugin' && q.workers.length > 0));
    const idle = sampleMemory(apps)();
    const stopSampling = sampleMemory(apps);
    const cpuShares = cpuMeter();
    const cpuByProcess = processCpu({ bench: process.pid, ...Object.fromEntries(Object.entries(apps).map(([name, child]) => [name, child.pid])) });

    // One POST per task (one durable commit each), or with --bulk, POST /tasks/bulk/ of BULK tasks
    // each (one INSERT and one addBulk per request, as the anchors' pg-bulk rows).
    const input = (i) => ({ plugin_id: 'noop', input_data: `internet|h${i}.bench.example` });
    let next = 0;
    const createBulks = async () => {
      while (next < N) {
        const first = next;
        next = Math.min(N, next + BULK_SIZE);
        const response = await call('/tasks/bulk/', token, { tasks: Array.from({ length: next - first }, (_, k) => input(first + k)) });
        if (response.status !== 201) throw new Error(`tasks from ${first}: ${response.status} ${await response.text()}`);
      }
    };
    // The load generator is a process of its own, as for the anchors, so the API gets the same load.
    const posts = BULK ? (await Promise.all([createBulks(), createBulks()]), null) : await postOneByOne(PORT, token);
    if (DRAIN) apps.worker = bench.start('worker');
    let shown = -1;
    await waitFor('every task to end', async () => {
      const [{ done }] = await bench.query(`SELECT count(*)::int AS done FROM task WHERE type = 'plugin' AND status IN ('COMPLETED', 'FAILED')`);
      if (done !== shown) progress(`lifecycle: ${(shown = done)}/${N} tasks ended`);
      return done === N;
    }, 60_000 + N * 1000);
    process.stderr.write('\n');
    const peak = stopSampling();
    const cpu = cpuShares();
    const cpuSeconds = cpuByProcess();

    const [stats] = await bench.query(`
      SELECT count(*) FILTER (WHERE status = 'COMPLETED')::int AS completed,
             count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
             extract(epoch FROM max(ended_at) - min(${DRAIN ? 'started_at' : 'created_at'}))::float AS seconds,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - created_at))::float AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - created_at))::float AS p99,
             avg(extract(epoch FROM ended_at - started_at))::float AS run_seconds,
             extract(epoch FROM sum(ended_at - started_at))::float AS busy_slot_seconds
      FROM task WHERE type = 'plugin'`);
    const result = {
      benchmark: `${PIPELINE ? 'lifecycle-pipeline' : 'lifecycle'}${DRAIN ? '-drain' : ''}`,
      plugin: PIPELINE ? RUNNERS[PLUGIN_RUNNER] : 'real container (kat-busybox, `true`)',
      creation: BULK ? `POST /tasks/bulk/ of ${BULK_SIZE}, 2 clients` : `one POST /tasks/ per task, ${CLIENTS} clients`,
      tasks: N, worker_concurrency: CONCURRENCY,
      completed: stats.completed, failed: stats.failed, seconds: round(stats.seconds),
      tasks_per_second: round(N / stats.seconds), latency_p50_s: round(stats.p50), latency_p99_s: round(stats.p99),
      // Where a worker's time goes: how long a run takes (claim to ending), and how much of the
      // slots × wall time was spent in runs (the rest: slots waiting for admission and delivery).
      run_seconds_avg: round(stats.run_seconds), slots_busy_pct: round((100 * stats.busy_slot_seconds) / (CONCURRENCY * stats.seconds)),
      ...(posts && { post_per_second: round(posts.rps), post_latency_ms: { p50: posts.latency_ms.p50, p99: posts.latency_ms.p99 } }),
      rss_mb: { idle, peak_under_load: peak }, cpu,
      // CPU milliseconds per task by process group: what each part costs, and what a target rate
      // would need (two cores give 2,000 ms a second).
      cpu_ms_per_task: Object.fromEntries(Object.entries(cpuSeconds).filter(([, s]) => s >= 0.05).map(([group, s]) => [group, round((1000 * s) / N)])),
      machine: machine(), at: new Date().toISOString(),
    };
    if (celery) Object.assign(result, { celery, ratio_to_celery: round(result.tasks_per_second / celery.tasks_per_second) });
    if (django) Object.assign(result, { django, ratio_to_django: round(result.tasks_per_second / django.tasks_per_second) });
    const engineHere = engine?.find((row) => row.concurrency === CONCURRENCY);
    if (engine) Object.assign(result, { engine, ratio_to_engine: engineHere && round(result.tasks_per_second / engineHere.cycles_per_second) });
    console.log(`lifecycle: ${N} tasks, worker concurrency ${CONCURRENCY}, ${PIPELINE ? `pipeline alone (${PLUGIN_RUNNER} runner)` : 'real containers'}, ${result.creation}${DRAIN ? ', worker draining a full queue' : ''}: ${result.tasks_per_second} tasks/s ` +
      `(${result.completed} COMPLETED, ${result.failed} FAILED in ${result.seconds} s; creation→end p50 ${result.latency_p50_s} s, p99 ${result.latency_p99_s} s)`);
    console.log(`a run (claim to ending) took ${result.run_seconds_avg} s on average; the ${CONCURRENCY} slots were in runs ${result.slots_busy_pct} % of the time`);
    console.log(`CPU while it ran: ${cpu.busy_pct} % busy, ${cpu.idle_pct} % idle, ${cpu.steal_pct} % stolen by the host`);
    console.log(`resident memory, MB: ${Object.keys(apps).map((app) => `${app} ${idle[app] ?? '-'} idle, ${peak[app] ?? '-'} peak`).join('; ')}`);
    console.log(`CPU ms per task: ${Object.entries(result.cpu_ms_per_task).map(([group, ms]) => `${group} ${ms}`).join(', ')}`);
    if (posts) console.log(`POST /tasks/: ${result.post_per_second} requests/s, latency p50 ${posts.latency_ms.p50} ms, p99 ${posts.latency_ms.p99} ms`);
    if (celery) console.log(`Celery (prefork 2) in the same run: ${celery.tasks_per_second} tasks/s (${celery.cpu.steal_pct} % stolen); ratio ${result.ratio_to_celery}×`);
    if (engineHere) console.log(`the engine alone at concurrency ${CONCURRENCY}: ${engineHere.cycles_per_second} cycles/s; the worker does ${round(100 * result.ratio_to_engine)} % of it`);
    if (django) console.log(`Django + DRF + Celery in the same run: ${django.tasks_per_second} tasks/s (${django.cpu.steal_pct} % stolen), POST p50 ${django.post_latency_ms.p50} ms p99 ${django.post_latency_ms.p99} ms; ratio ${result.ratio_to_django}×`);
    console.log(`saved ${saveResult(result.benchmark, result)}`);
  } finally {
    await bench.drop();
  }
}

const round = (x) => Math.round(x * 100) / 100;

run(main);
