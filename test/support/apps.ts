import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { KatSettings } from '@kat/domain';
import { ApiModule } from '../../apps/api/src/api.module';
import { configureApp } from '../../apps/api/src/configure-app';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { checkLiveResponses, OpenApiContract } from './openapi-contract';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';

const LOGGER = process.env.TEST_LOGS ? undefined : (['error'] as const);

/**
 * The API on a free port of 127.0.0.1, with the same configuration as main.ts. Every response it
 * sends to a documented route is checked against its OpenAPI document (contract-setup.ts).
 */
export async function startApi(settings: KatSettings): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(settings), {
    logger: LOGGER ? [...LOGGER] : undefined,
  });
  // Read at each response, after configureApp made the document: the middleware must come first.
  app.use(checkLiveResponses(() => contract));
  const contract = new OpenApiContract(configureApp(app));
  await app.listen(0, '127.0.0.1');
  return app;
}

export async function startWorker(settings: KatSettings): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(WorkerModule.forRoot(settings), {
    logger: LOGGER ? [...LOGGER] : undefined,
  });
}

export async function startScheduler(settings: KatSettings): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(SchedulerModule.forRoot(settings), {
    logger: LOGGER ? [...LOGGER] : undefined,
  });
}

/** An HTTP client of the API acting with `token`. */
export function client(app: INestApplication, token: string) {
  const http = request(app.getHttpServer());
  const auth = { Authorization: `Bearer ${token}` };
  return {
    get: (path: string) => http.get(`/api/v1${path}`).set(auth),
    post: (path: string, body?: object) =>
      http
        .post(`/api/v1${path}`)
        .set(auth)
        .send(body ?? {}),
    patch: (path: string, body: object) => http.patch(`/api/v1${path}`).set(auth).send(body),
    delete: (path: string) => http.delete(`/api/v1${path}`).set(auth),
  };
}
export type ApiClient = ReturnType<typeof client>;

/** One of the built apps (`npm run build`) as its own process, as it runs in production. */
export function spawnApp(
  entry: 'api/main' | 'worker/main' | 'scheduler/main' | 'cli/main',
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [join(__dirname, '../../dist/apps', `${entry}.js`), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return Object.assign(child, { output: () => output });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
