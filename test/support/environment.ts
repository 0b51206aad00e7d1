import {
  ApiToken,
  generateTokenSecret,
  hashTokenSecret,
  TokenAccess,
  KatSettings,
  loadSettings,
  Organization,
  runMigrations,
} from '@kat/domain';
import { containerSocket } from './container-engine';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { DataSource } from 'typeorm';

/** Connection to the machine's PostgreSQL server, database `postgres`, for creating test databases. */
const ADMIN_DATABASE_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A private database (migrated) and a private Redis key prefix, so tests run beside a local
 * instance and each other, and leave nothing behind.
 */
export class TestEnvironment {
  readonly name = `kat_test_${randomBytes(5).toString('hex')}`;
  readonly databaseUrl: string;
  readonly queuePrefix = this.name;
  /** Every app's SECRETS_KEY (per-organization plugin settings): one per environment, never in the database. */
  readonly secretsKey = randomBytes(32).toString('hex');

  /** `adminUrl`: the server's `postgres` database; by default the machine's shared server. */
  private constructor(private readonly adminUrl: string) {
    this.databaseUrl = adminUrl.replace(/\/[^/]*$/, `/${this.name}`);
  }

  static async create(adminUrl = ADMIN_DATABASE_URL): Promise<TestEnvironment> {
    const environment = new TestEnvironment(adminUrl);
    await withAdminClient(adminUrl, (client) => client.query(`CREATE DATABASE ${environment.name}`));
    await runMigrations(environment.databaseUrl);
    return environment;
  }

  /** Settings for an app under test; `overrides` as environment variables would give them. */
  settings(overrides: Record<string, string> = {}): KatSettings {
    return loadSettings({
      DATABASE_URL: this.databaseUrl,
      REDIS_URL,
      QUEUE_PREFIX: this.queuePrefix,
      DOCKER_SOCKET: containerSocket(),
      PLUGIN_NETWORK: 'none',
      HEARTBEAT_INTERVAL_MS: '300',
      LOG_CAP_BYTES: '65536',
      LOG_LEVEL: process.env.TEST_LOGS ? 'log' : 'error',
      SECRETS_KEY: this.secretsKey,
      ...overrides,
    });
  }

  /** Environment variables for an app started as a separate process. */
  processEnv(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
    const settings = this.settings(overrides);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...overrides };
    for (const [key, value] of Object.entries(settings)) if (value !== undefined) env[key] = String(value);
    return env;
  }

  async destroy(): Promise<void> {
    await withAdminClient(this.adminUrl, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`),
    ).catch(() => undefined);
    const redis = new Redis(REDIS_URL);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.queuePrefix}:*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }

  /** Runs `work` with a short-lived data source on the test database. */
  async withDataSource<T>(work: (db: DataSource) => Promise<T>): Promise<T> {
    const { dataSourceOptions } = await import('@kat/domain');
    const db = await new DataSource(dataSourceOptions(this.databaseUrl, 2)).initialize();
    try {
      return await work(db);
    } finally {
      await db.destroy();
    }
  }

  /** Creates an organization (if needed) and a token for it; returns the token's secret. */
  /** A new token of organization `code` (created if need be); `admin`: of every organization. */
  async token(code: string, options: { admin?: boolean; access?: TokenAccess } = {}): Promise<string> {
    return this.withDataSource(async (db) => {
      await db.getRepository(Organization).upsert({ code, name: code }, { conflictPaths: ['code'] });
      const organization = await db.getRepository(Organization).findOneByOrFail({ code });
      const secret = generateTokenSecret();
      await db.getRepository(ApiToken).insert({
        name: 'test',
        organization_id: options.admin ? null : organization.id,
        is_admin: options.admin ?? false,
        access: options.access ?? (options.admin ? 'admin' : 'write'),
        token_hash: hashTokenSecret(secret),
      });
      return secret;
    });
  }

  /**
   * A PENDING plugin task of organization `code` that stays off the queue: in a back-off for an
   * hour, so the admission passes it by and only a "Run task" queues it. Returns its id.
   */
  async taskInBackOff(code: string, pluginId: string, inputData: string): Promise<string> {
    const rows = await this.withDataSource((db) =>
      db.query(
        `INSERT INTO task (organization_id, type, data, run_after)
       SELECT id, 'plugin', jsonb_build_object('plugin_id', $2::text, 'input_data', $3::text), now() + interval '1 hour'
       FROM organization WHERE code = $1 RETURNING id`,
        [code, pluginId, inputData],
      ),
    );
    return rows[0].id;
  }
}

async function withAdminClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
