import { waitFor } from '../support/environment';
import { FaultHarness, FOUND_FOR_NAME } from './fault-harness';

/**
 * Faults while tasks flow, against the built apps as separate processes on real PostgreSQL,
 * Redis and the container engine. After each: every created task ended COMPLETED exactly once
 * (or FAILED with a reason), none is left RUNNING, and no object or ObjectTask is duplicated.
 */
describe('faults', () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await FaultHarness.start();
    await h.plugin('hang', 'sleep 3600', 3);
    await h.plugin('flood', 'head -c 104857600 /dev/zero | tr "\\\\0" x', 120);
    await h.plugin('hog', 'x=$(head -c 268435456 /dev/zero | tr "\\\\0" x); echo done', 60, 32);
  });

  afterEach(() => h?.stopWorkersAndSchedulers());
  afterAll(() => h?.stop());

  it('loses nothing when workers and a scheduler are killed with SIGKILL mid-run, twice', async () => {
    const schedulers = [h.start('scheduler/main'), h.start('scheduler/main')];
    let worker = h.start('worker/main', { WORKER_CONCURRENCY: '4' });
    h.start('worker/main', { WORKER_CONCURRENCY: '4' }); // the steady worker
    // Priorities in play: half the tasks urgent (3), half a sweep (7), interleaved.
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) => h.createTask('work', `kill${i}.example`, i % 2 ? 3 : 7)),
    );
    for (let round = 0; round < 2; round++) {
      // More running than the steady worker's 4 slots: the other worker surely holds some
      // (retried > 0 below proves it).
      await h.running(5);
      await h.kill(worker);
      if (round === 0) await h.kill(schedulers[0]);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // paces the restart, as a pod's would be
      worker = h.start('worker/main', { WORKER_CONCURRENCY: '4' });
    }
    await h.allEndWell(ids);
    const [{ retried }] = await h.sql(`SELECT count(*)::int AS retried FROM task WHERE id = ANY($1) AND attempts > 1`, [
      ids,
    ]);
    expect(retried).toBeGreaterThan(0); // the kills did interrupt runs
  });

  it("gives back a key's slots held by a worker killed with SIGKILL, and never exceeds the key's limit", async () => {
    const key = { key: 'one-fault-api', concurrency: 2 };
    await h.plugin('limited', h.recorder.script(`sleep 1; echo '${FOUND_FOR_NAME}'`), 30, 64, key);
    const first = h.start('worker/main', { WORKER_CONCURRENCY: '4' }); // no scheduler: the workers recover slots
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h.createTask('limited', `slot${i}.example`, i < 4 ? 7 : 3)),
    );
    const held = await h.inFlight(2); // both of the key's slots, on the only worker
    await h.kill(first);
    const killedAt = Date.now();
    h.start('worker/main', { WORKER_CONCURRENCY: '4' });
    // The slots come back once the dead worker's heartbeats are stale (3 s here), and the key goes on.
    const next = await waitFor(
      'a limited task to start after the kill',
      async () => h.recorder.runs.find((run) => run.startedAt > killedAt && !held.includes(run.task_id)),
      30_000,
    );
    expect(next.startedAt - killedAt).toBeLessThan(3_000 + 10_000);
    await h.allEndWell(ids);
    // Never more than 2 runs of the key at once, as the plugins themselves reported them.
    const edges = h.recorder.runs
      .filter((run) => ids.includes(run.task_id))
      .flatMap((run) => [
        { at: run.startedAt, step: 1 },
        { at: run.endedAt ?? Number.MAX_SAFE_INTEGER, step: -1 },
      ]);
    let running = 0;
    let most = 0;
    for (const edge of edges.sort((a, b) => a.at - b.at || a.step - b.step))
      most = Math.max(most, (running += edge.step));
    expect(most).toBeLessThanOrEqual(2);
  });

  it('loses nothing when a worker running 50 at a time (batched claims and endings) is killed, twice', async () => {
    // The process runner (plugins as child processes) lets 100 tasks run at once on this machine.
    const batched = { WORKER_CONCURRENCY: '50', PLUGIN_RUNNER: 'process' };
    h.start('scheduler/main'); // its reconcile-tasks recovers the killed worker's tasks
    let worker = h.start('worker/main', batched);
    h.start('worker/main', batched); // the steady worker
    const ids = await Promise.all(Array.from({ length: 300 }, (_, i) => h.createTask('work', `batch${i}.example`)));
    for (let round = 0; round < 2; round++) {
      await h.running(60); // more than the steady worker's 50 slots
      await h.kill(worker);
      worker = h.start('worker/main', batched);
    }
    await h.allEndWell(ids);
    const [{ retried }] = await h.sql(`SELECT count(*)::int AS retried FROM task WHERE id = ANY($1) AND attempts > 1`, [
      ids,
    ]);
    expect(retried).toBeGreaterThan(0);
  });

  it('loses nothing when Redis stops for 10 seconds while the API keeps creating tasks', async () => {
    h.start('scheduler/main');
    h.start('worker/main', { WORKER_CONCURRENCY: '4' });
    const ids: string[] = [];
    const creating = (async () => {
      for (let i = 0; i < 30; i++) {
        ids.push(await h.createTask('work', `redis${i}.example`));
        await new Promise((resolve) => setTimeout(resolve, 500)); // paces the requests
      }
    })();
    const hit = await h.inFlight(); // Redis goes away under a running task
    await h.redis.stop();
    const createdBefore = ids.length;
    await new Promise((resolve) => setTimeout(resolve, 10_000)); // the outage's length
    const createdDuring = ids.length - createdBefore;
    await h.redis.start();
    await creating;
    expect(ids).toHaveLength(30);
    expect({ runningAtTheFault: hit.length > 0, createdDuringTheOutage: createdDuring > 0 }).toEqual({
      runningAtTheFault: true,
      createdDuringTheOutage: true,
    });
    await h.allEndWell(ids, 180_000);
  });

  it(
    'fails a plugin that never exits, floods stdout or outgrows its memory, for the right reason, ' +
      'and keeps the worker healthy',
    async () => {
      h.start('scheduler/main');
      h.start('worker/main', { WORKER_CONCURRENCY: '4' });
      const cases: Array<[string, RegExp]> = [
        ['hang', /^plugin hang timed out after 3 s and was killed$/],
        ['flood', /^plugin flood printed a bad object: stdout line 1 is not JSON: "x{10,}/],
        ['hog', /^plugin hog was killed \(out of memory\? its limit is 32 MB\)$/],
      ];
      const ids = await Promise.all(cases.map(([plugin]) => h.createTask(plugin, `${plugin}.example`)));
      await h.allEnded(ids, 180_000);
      for (const [i, [plugin, reason]] of cases.entries()) {
        const [task] = await h.sql(`SELECT status, data->>'error' AS error FROM task WHERE id = $1`, [ids[i]]);
        expect({ plugin, ...task }).toEqual({ plugin, status: 'FAILED', error: expect.stringMatching(reason) });
      }
      const [log] = await h.sql(`SELECT length(stdout) AS stored, stdout_truncated FROM task_log WHERE task_id = $1`, [
        ids[1],
      ]);
      expect(log).toEqual({ stored: 65536, stdout_truncated: true });
      // The worker goes on: the next task is fine.
      await h.allEndWell([await h.createTask('work', 'after-faults.example')]);
    },
  );
});
