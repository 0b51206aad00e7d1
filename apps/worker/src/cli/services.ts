import { KatSettings } from '@kat/domain';
import Redis from 'ioredis';
import { Client } from 'pg';
import { dockerClient } from '../plugin-runner/container-plugin-runner';

const TIMEOUT_MS = 3000;

/** Checks each service the apps need and names the one that is missing; returns the exit code. */
export async function checkServices(settings: KatSettings): Promise<number> {
  const checks: Array<[string, string, () => Promise<unknown>]> = [
    ['PostgreSQL', redact(settings.DATABASE_URL), () => withPg(serverUrl(settings.DATABASE_URL), (c) => c.query('SELECT 1'))],
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

/** Creates the database of DATABASE_URL when the server lacks it; true if it did. */
export async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  return withPg(serverUrl(databaseUrl), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  });
}

/** The same server, database `postgres`: reachable even before our database exists. */
function serverUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

async function withPg<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: TIMEOUT_MS });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function pingRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null });
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
