import type { PoolClient } from 'pg';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';

/**
 * A statement PostgreSQL plans once per connection instead of on every call, for the task
 * lifecycle's hot statements of fixed text: planning their CTEs cost more than running them (a
 * 5,000-task pipeline run spent 2.9 s planning against 4.5 s executing; an ending's plan took
 * 4–9 ms). TypeORM sends every statement unnamed, so these go to the connection's pg client
 * with the name pg keys its prepared statements by. After five runs PostgreSQL keeps a generic
 * plan when it costs no more than the custom ones: these statements take their rows in one array
 * or JSON parameter, or a few scalars, whose values do not change the plan.
 * Name every result column (no `*`): a migration that adds a column would otherwise change the
 * prepared statement's result, which PostgreSQL refuses ("cached plan must not change result
 * type") on every connection that prepared it.
 */
export class PreparedStatement {
  constructor(
    /** Unique among prepared statements: pg refuses one name for two texts. */
    readonly name: string,
    readonly text: string,
  ) {}

  /** The rows (an UPDATE's RETURNING rows as they are, not TypeORM's [rows, count]). */
  async rows<R>(db: DataSource | EntityManager, values: unknown[]): Promise<R[]> {
    const transaction = db instanceof EntityManager ? db.queryRunner : undefined;
    if (transaction) return this.on((await transaction.connect()) as PoolClient, values);
    const runner = (db instanceof EntityManager ? db.connection : db).createQueryRunner();
    try {
      return await this.on((await runner.connect()) as PoolClient, values);
    } finally {
      await runner.release();
    }
  }

  private async on<R>(client: PoolClient, values: unknown[]): Promise<R[]> {
    try {
      return (await client.query({ name: this.name, text: this.text, values })).rows as R[];
    } catch (error) {
      // As TypeORM's query() fails, so the API's mapping of database errors applies alike.
      throw new QueryFailedError(this.text, values, error as Error);
    }
  }
}
