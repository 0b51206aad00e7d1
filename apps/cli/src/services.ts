import { checkDatabaseServer, KatSettings } from '@kat/domain';
import Redis from 'ioredis';
import { dockerClient } from '@kat/execution';

const TIMEOUT_MS = 3000;

/** Checks each service the apps need and names the one that is missing; returns the exit code. */
export async function checkServices(settings: KatSettings): Promise<number> {
  const checks: Array<[string, string, () => Promise<unknown>]> = [
    ['PostgreSQL', redact(settings.DATABASE_URL), () => checkDatabaseServer(settings.DATABASE_URL)],
    ['Redis', redact(settings.REDIS_URL), () => pingRedis(settings.REDIS_URL)],
    ['container engine', settings.DOCKER_HOST ?? settings.DOCKER_SOCKET, () => dockerClient(settings).ping()],
  ];
  let failed = 0;
  for (const [name, where, check] of checks) {
    try {
      await check();
      console.log(`ok      ${name} at ${where}`);
    } catch (error) {
      failed++;
      console.log(`MISSING ${name} at ${where}: ${(error as Error).message}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

async function pingRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
