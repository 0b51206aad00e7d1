// The PostgreSQL server of DATABASE_URL before any data source exists: the CLI's `check` and
// `migrate` reach it through a plain client, since our database may not exist yet.
import { Client } from 'pg';

const TIMEOUT_MS = 3000;

/** Resolves when the server answers a query; rejects with the reason it does not. */
export async function checkDatabaseServer(databaseUrl: string): Promise<void> {
  await withServer(databaseUrl, (client) => client.query('SELECT 1'));
}

/** Creates the database of DATABASE_URL when the server lacks it; true if it did. */
export async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  return withServer(databaseUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  });
}

/** One connection to the same server, database `postgres`: reachable even before ours exists. */
async function withServer<T>(databaseUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString(), connectionTimeoutMillis: TIMEOUT_MS });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
