import { PrivatePostgres } from '../support/private-postgres';
import { FaultHarness } from './fault-harness';

/** PostgreSQL restarts while workers run: on a cluster of the test's own, not the machine's. */
describe('a PostgreSQL restart', () => {
  let postgres: PrivatePostgres;
  let h: FaultHarness;

  beforeAll(async () => {
    postgres = await PrivatePostgres.create();
    h = await FaultHarness.start(postgres.serverUrl);
  });

  afterAll(async () => {
    await h?.stop();
    postgres?.drop();
  });

  it('loses no task: each ends COMPLETED once, whatever its run was doing when the database went away', async () => {
    h.start('scheduler/main');
    h.start('worker/main', { WORKER_CONCURRENCY: '4' });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => h.createTask('work', `pg${i}.example`)));
    const hit = await h.inFlight(); // the restart must hit running tasks, or it tests nothing
    postgres.restart();
    expect(hit.length).toBeGreaterThan(0);
    await h.allEndWell(ids, 180_000);
  });
});
