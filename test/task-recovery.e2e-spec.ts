import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { ALL_ORGANIZATIONS, TaskRepository, TaskType } from '@kat/domain';
import { TaskDispatcher } from '@kat/queue';
import { ApiClient, client, exited, spawnApp, startApi, startScheduler, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { PrivateRedis } from './support/private-redis';
import { containersOfTask, registerShellPlugin } from './support/plugins';
import { freePort } from './support/free-port';

/**
 * No task is lost or run twice when Redis goes away or a worker dies: the row is the truth, and
 * reconcile-tasks brings the queue back in line with it.
 */
describe('task recovery', () => {
  let environment: TestEnvironment;
  let redis: PrivateRedis;
  let api: INestApplication;
  let scheduler: INestApplicationContext;
  let acme: ApiClient;
  // Fast clocks: heartbeats every 300 ms, stale after 2 s, reconcile every second (cron below).
  const REQUEUE_AFTER_SECONDS = 1;
  const fast = () => ({
    REDIS_URL: redis.url,
    STALE_AFTER_SECONDS: '2',
    REQUEUE_AFTER_SECONDS: String(REQUEUE_AFTER_SECONDS),
    SCHEDULER_POLL_MS: '200',
  });

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    redis = await PrivateRedis.start();
    await environment.withDataSource((db) =>
      db.query(`UPDATE scheduler_job SET cron = '* * * * * *' WHERE name = 'reconcile-tasks'`),
    );
    api = await startApi(environment.settings(fast()));
    scheduler = await startScheduler(environment.settings(fast()));
    acme = client(api, await environment.token('acme'));
    const admin = client(api, await environment.token('ops', { admin: true }));
    await registerShellPlugin(admin, 'quick', 'echo "done {name}" >&2');
    await registerShellPlugin(admin, 'four_seconds', 'sleep 4; echo "done {name}" >&2');
  });

  afterAll(async () => {
    await scheduler?.close();
    await api?.close();
    await redis?.stop();
    await environment?.destroy();
  });

  const createTask = async (plugin_id: string, name: string) =>
    (await acme.post('/tasks/', { type: 'plugin', data: { plugin_id, input_data: `internet|${name}` } }).expect(201))
      .body;
  const taskStatus = async (id: string) => (await acme.get(`/tasks/${id}/`)).body;
  const pluginQueue = () => api.get(TaskDispatcher).queueFor(TaskType.PLUGIN);
  const reachesStatus = (id: string, status: string, timeoutMs = 60_000) =>
    waitFor(
      `task ${id} to be ${status}`,
      async () => {
        const task = await taskStatus(id);
        return task.status === status && task;
      },
      timeoutMs,
    );

  it('completes a task created while Redis was down once Redis is back', async () => {
    const worker = await startWorker(environment.settings(fast()));
    try {
      await redis.stop();
      // Answered while Redis is down (it starts again only after this): the API does not wait for it.
      const task = await createTask('quick', 'outage.example.com');
      expect(task.status).toBe('PENDING');
      // The reconciler had its chance: a run that began once the task was old enough to be queued again has ended.
      const looked = `SELECT (j.last_run_at - make_interval(secs => j.last_duration_ms / 1000.0)
                               > t.created_at + make_interval(secs => $2)) IS TRUE AS looked
                      FROM scheduler_job j, task t WHERE j.name = 'reconcile-tasks' AND t.id = $1`;
      await waitFor(
        'reconcile-tasks to look at the task',
        async () =>
          (await environment.withDataSource((db) => db.query(looked, [task.id, REQUEUE_AFTER_SECONDS])))[0].looked,
      );
      expect(await taskStatus(task.id)).toMatchObject({ status: 'PENDING', attempts: 0 });

      await redis.start();
      const done = await reachesStatus(task.id, 'COMPLETED');
      expect(done.attempts).toBe(1);
    } finally {
      await worker.close();
    }
  });

  it('recovers the task of a worker killed with SIGKILL and runs it to completion once', async () => {
    const killed = spawnApp('worker/main', environment.processEnv(fast()));
    try {
      const task = await createTask('four_seconds', 'sigkill.example.com');
      await reachesStatus(task.id, 'RUNNING', 20_000);
      killed.kill('SIGKILL');
      await exited(killed);
      // Its job stays locked by the dead worker, until Bull finds it stalled and delivers it again.
      expect(await (await pluginQueue().getJob(task.id))?.getState()).toBe('active');

      // Its container is left running; the task goes stale, is handed back and runs again.
      const worker = await startWorker(environment.settings(fast()));
      try {
        const done = await reachesStatus(task.id, 'COMPLETED');
        expect(done.attempts).toBe(2);
        const log = (await acme.get(`/tasks/${task.id}/logs/`)).body;
        expect(log.stderr).toBe('done sigkill.example.com\n');
        await waitFor(
          'the orphaned container to be removed',
          async () => (await containersOfTask(task.id)).length === 0,
          20_000,
        );
        // Nothing runs it a third time, not even the dead worker's job once delivered again
        // (Bull checks for stalled jobs every 30 s, after their lock has expired).
        await waitFor(
          "the dead worker's job to be delivered again and done",
          async () => {
            const job = await pluginQueue().getJob(task.id);
            return !job || ['completed', 'failed'].includes(await job.getState());
          },
          120_000,
        );
        expect(await taskStatus(task.id)).toMatchObject({ status: 'COMPLETED', attempts: 2 });
        expect(await containersOfTask(task.id)).toEqual([]);
      } finally {
        await worker.close();
      }
    } finally {
      killed.kill('SIGKILL');
    }
  }, 240_000);

  it('hands running tasks back on SIGTERM, and another worker completes them', async () => {
    const healthPort = await freePort();
    const stopping = spawnApp(
      'worker/main',
      environment.processEnv({ ...fast(), SHUTDOWN_GRACE_SECONDS: '1', HEALTH_PORT: String(healthPort) }),
    );
    const ready = await waitFor(
      "the worker's health port",
      async () => {
        const response = await fetch(`http://127.0.0.1:${healthPort}/health/ready`);
        return response.ok && response.json();
      },
      20_000,
    );
    expect(ready).toEqual({ details: { database: { status: 'up' }, redis: { status: 'up' } } });
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    expect(metrics).toMatch(/^# TYPE kat_task_duration_seconds histogram$/m);
    expect(metrics).toMatch(/^# TYPE kat_container_failures_total counter$/m);
    const task = await createTask('four_seconds', 'sigterm.example.com');
    await reachesStatus(task.id, 'RUNNING', 20_000);
    stopping.kill('SIGTERM');
    expect(await exited(stopping)).toBe(0);
    expect(await taskStatus(task.id)).toMatchObject({ status: 'PENDING', attempts: 1, started_at: null });
    expect(await containersOfTask(task.id)).toEqual([]);

    const worker = await startWorker(environment.settings(fast()));
    try {
      expect(await reachesStatus(task.id, 'COMPLETED')).toMatchObject({ attempts: 2 });
    } finally {
      await worker.close();
    }
  });

  it('fails a task whose workers keep dying once its attempts are used up', async () => {
    const task = await createTask('four_seconds', 'doomed.example.com');
    const repository = scheduler.get(TaskRepository);
    // Simulate MAX_ATTEMPTS (3) claims whose workers all died: admit, claim, and never heartbeat again.
    for (let attempt = 1; attempt <= 3; attempt++) {
      await waitFor(
        'the task to be claimable',
        async () =>
          (await repository.admitNow(task.id, ALL_ORGANIZATIONS)) && (await repository.claim(task.id)) !== null,
        20_000,
      );
      const failedOrBack = attempt < 3 ? 'PENDING' : 'FAILED';
      await reachesStatus(task.id, failedOrBack, 20_000);
    }
    const failed = await taskStatus(task.id);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(failed.data.error).toBe('worker stopped responding during each of 3 attempts');
  });

  it("runs a task in the foreground with `kat run-task` through the worker's code path", async () => {
    const repository = scheduler.get(TaskRepository);
    const organizationId = (
      await environment.withDataSource((db) => db.query(`SELECT id FROM organization WHERE code = 'acme'`))
    )[0].id;
    const { task } = await repository.create({
      organization_id: organizationId,
      type: TaskType.PLUGIN,
      data: { plugin_id: 'quick', input_data: 'internet|cli.example.com' },
    });
    const cli = spawnApp('cli/main', environment.processEnv(fast()), ['run-task', task.id]);
    expect(await exited(cli)).toBe(0);
    const printed = JSON.parse(cli.output().slice(cli.output().indexOf('{')));
    expect(printed.result).toEqual({ outcome: 'COMPLETED' });
    expect(printed.task).toMatchObject({ id: task.id, status: 'COMPLETED', attempts: 1 });
  });
});
