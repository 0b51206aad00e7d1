import { waitFor } from '../support/environment';
import { containersOfTask } from '../support/plugins';
import { FaultHarness } from './fault-harness';

/**
 * A worker that stops responding (SIGSTOP: a long GC pause, a frozen VM) while its plugin runs,
 * and wakes up after another worker took its task over. Only the attempt that holds the task may
 * touch it; the sleeper must notice at its next heartbeat and kill its own container at once.
 */
const ADMISSION_LOCK_HELD = `SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
  WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()`;

describe('a stalled worker', () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await FaultHarness.start();
  });

  afterAll(() => h?.stop());

  const containersOfAttempt = async (taskId: string, attempt: number) =>
    (await containersOfTask(taskId)).filter((c) => c.Labels['kat.attempt'] === String(attempt));

  it(
    'changes nothing when it wakes after its task was taken over, ' + 'and kills its container at its next heartbeat',
    async () => {
      // No reaper pass during the test: only the heartbeat can stop the stalled run's container.
      // (Not even at start: the second worker would find attempt 1's container orphaned, had the task
      // been handed back by then.)
      const workerSettings = { WORKER_CONCURRENCY: '1', REAP_INTERVAL_SECONDS: '0' };
      h.recorder.close(); // every run waits at its start until the test lets it go
      const stalled = h.start('worker/main', { ...workerSettings, LOG_LEVEL: 'log' });
      const id = await h.createTask('work', 'stalled.example');
      await waitFor('attempt 1 to start its plugin', async () => h.recorder.runsOf(id).length === 1, 60_000);
      stalled.kill('SIGSTOP');

      h.start('scheduler/main'); // reconcile-tasks hands the silent worker's task back
      h.start('worker/main', workerSettings);
      await waitFor(
        'attempt 2 to start its plugin',
        async () => h.recorder.runsOf(id).some((run) => run.attempt === 2),
        60_000,
      );
      // nobody stopped it meanwhile
      expect((await containersOfAttempt(id, 1)).map((c) => c.State)).toEqual(['running']);

      stalled.kill('SIGCONT');
      await waitFor(
        "attempt 1's container to be killed",
        async () => (await containersOfAttempt(id, 1)).length === 0,
        10_000,
      );
      await waitFor(
        'the stalled worker to give its run up',
        async () => stalled.output().includes('"outcome":"lost"'),
        10_000,
      );
      // Its heartbeat, its log and its ending changed nothing: attempt 2 holds the task, runs on, no log yet.
      const [row] = await h.sql(
        `SELECT t.status, t.attempts, l.task_id AS log FROM task t LEFT JOIN task_log l ON l.task_id = t.id
         WHERE t.id = $1`,
        [id],
      );
      expect(row).toEqual({ status: 'RUNNING', attempts: 2, log: null });
      expect((await containersOfAttempt(id, 2)).map((c) => c.State)).toEqual(['running']);

      h.recorder.open();
      await h.allEndWell([id]);
      expect(h.recorder.runsOf(id).map((run) => [run.attempt, run.endedAt !== undefined])).toEqual([
        [1, false],
        [2, true],
      ]);
      const [{ completions }] = await h.sql(
        `SELECT count(*)::int AS completions FROM task WHERE id = $1 AND status = 'COMPLETED'`,
        [id],
      );
      expect(completions).toBe(1);
    },
  );

  it("does not stop the other workers' admissions when it froze in the middle of an admission round", async () => {
    await h.stopWorkersAndSchedulers();
    h.recorder.open();
    // A round holds the one admission lock; frozen inside it, the worker would hold it for as long
    // as it sleeps. Rounds back to back, so a stop often lands inside one.
    const frozen = h.start('worker/main', { WORKER_CONCURRENCY: '1', ADMIT_INTERVAL_MS: '10' });
    await waitFor(
      'the worker to offer its slots',
      async () => (await h.sql(`SELECT 1 FROM dispatch_worker`)).length > 0,
    );
    await waitFor(
      'a stop inside an admission round',
      async () => {
        frozen.kill('SIGSTOP');
        await new Promise((resolve) => setTimeout(resolve, 50));
        if ((await h.sql(ADMISSION_LOCK_HELD)).length > 0) return true;
        frozen.kill('SIGCONT');
        return false;
      },
      90_000,
    );
    h.start('worker/main', { WORKER_CONCURRENCY: '1' });
    const id = await h.createTask('work', 'admitted.example');
    await h.allEndWell([id], 30_000);
    expect(frozen.signalCode ?? frozen.exitCode).toBeNull(); // frozen all along, not dead
    frozen.kill('SIGCONT');
  });
});
