import { Client } from 'pg';

/** Table name → its rows as JSON text, sorted. */
export type Rows = Record<string, string[]>;

/**
 * One organization's rows in every table of the database, found from the catalogue so that a new
 * table is covered without anyone remembering: a table with organization_id gives that
 * organization's rows, one with only task_id the rows of its tasks (token_id: of its tokens), any other table (plugins,
 * organizations, the scheduler's switches) all its rows.
 */
export class OrganizationRows {
  private constructor(
    private readonly db: Client,
    private readonly tables: Array<{ name: string; columns: string[] }>,
    private readonly ignored: Record<string, string[]>,
  ) {}

  /** `ignored`: per table, columns that move by themselves and are left out of the rows. */
  static async open(databaseUrl: string, ignored: Record<string, string[]> = {}): Promise<OrganizationRows> {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const { rows } = await db.query(
      `SELECT c.table_name AS name, array_agg(c.column_name::text ORDER BY c.ordinal_position) AS columns
       FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
       WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' GROUP BY c.table_name ORDER BY c.table_name`,
    );
    return new OrganizationRows(db, rows, ignored);
  }

  async snapshot(organizationId: number): Promise<Rows> {
    const selects = this.tables.map(({ name, columns }) => {
      const where = columns.includes('organization_id')
        ? 'WHERE x.organization_id = $1'
        : columns.includes('task_id')
          ? 'WHERE x.task_id IN (SELECT id FROM task WHERE organization_id = $1)'
          : columns.includes('token_id')
            ? 'WHERE x.token_id IN (SELECT id FROM api_token WHERE organization_id = $1)'
            : '';
      const ignored = `'{${(this.ignored[name] ?? []).join(',')}}'::text[]`;
      return `SELECT '${name}' AS name, (to_jsonb(x) - ${ignored})::text AS row FROM "${name}" x ${where}`;
    });
    const { rows } = await this.db.query(`${selects.join(' UNION ALL ')} ORDER BY name, row`, [organizationId]);
    const snapshot: Rows = Object.fromEntries(this.tables.map((t) => [t.name, []]));
    for (const { name, row } of rows) snapshot[name].push(row);
    return snapshot;
  }

  /** Rows gone and rows new, per table; empty when nothing changed. */
  static changes(before: Rows, after: Rows): Record<string, { gone: string[]; new: string[] }> {
    const changes: Record<string, { gone: string[]; new: string[] }> = {};
    for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const gone = minus(before[name] ?? [], after[name] ?? []);
      const added = minus(after[name] ?? [], before[name] ?? []);
      if (gone.length || added.length) changes[name] = { gone, new: added };
    }
    return changes;
  }

  /**
   * Deletes every row of the organization but its tokens (and the organization itself); its audit
   * entries too, with the append-only trigger switched off for the moment (a test's cleanup only).
   */
  async deleteData(organizationId: number): Promise<void> {
    for (const { name, columns } of this.tables) {
      if (name === 'api_token' || !columns.includes('organization_id')) continue;
      if (name === 'audit_entry') {
        await this.db.query('BEGIN; ALTER TABLE audit_entry DISABLE TRIGGER USER');
        await this.db.query(`DELETE FROM audit_entry WHERE organization_id = $1`, [organizationId]);
        await this.db.query('ALTER TABLE audit_entry ENABLE TRIGGER USER; COMMIT');
      } else {
        await this.db.query(`DELETE FROM "${name}" WHERE organization_id = $1`, [organizationId]);
      }
    }
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.db.query(sql, params).then((result) => result.rows as T[]);
  }

  close(): Promise<void> {
    return this.db.end();
  }
}

function minus(rows: string[], others: string[]): string[] {
  const left = new Map<string, number>();
  for (const row of others) left.set(row, (left.get(row) ?? 0) + 1);
  return rows.filter((row) => {
    const n = left.get(row) ?? 0;
    if (n > 0) left.set(row, n - 1);
    return n === 0;
  });
}
