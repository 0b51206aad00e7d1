import { INestApplication, INestApplicationContext } from '@nestjs/common';
import request from 'supertest';
import { startApi, startScheduler } from './support/apps';
import { TestEnvironment } from './support/environment';
import { freePort } from './support/free-port';
import { pendingTimers } from './support/pending-timers';

/**
 * The readiness checks bound each probe with a timer, and clear it once the probe answered: one
 * left behind by every probe (an orchestrator's, every few seconds) would outlive the check.
 */
describe('the readiness checks', () => {
  // A check's own timers; not the connection pool's idle timer, which a probe's query restarts.
  const ofTheCheck = (stack: string) => stack.includes('health') && !stack.includes('pg-pool');
  let environment: TestEnvironment;
  let api: INestApplication;
  let scheduler: INestApplicationContext;
  let healthPort: number;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    api = await startApi(environment.settings());
    healthPort = await freePort();
    scheduler = await startScheduler(environment.settings({ HEALTH_PORT: String(healthPort) }));
  });

  afterAll(async () => {
    await scheduler?.close();
    await api?.close();
    await environment?.destroy();
  });

  it('of the API leave no timer behind once PostgreSQL and Redis answered', async () => {
    const probe = async () => expect((await request(api.getHttpServer()).get('/health/ready')).status).toBe(200);
    expect(await pendingTimers(ofTheCheck, probe)).toBe(0);
  });

  it("of the scheduler's health port leave no timer behind once PostgreSQL and Redis answered", async () => {
    const probe = async () => expect((await fetch(`http://127.0.0.1:${healthPort}/health/ready`)).status).toBe(200);
    expect(await pendingTimers(ofTheCheck, probe)).toBe(0);
  });
});
