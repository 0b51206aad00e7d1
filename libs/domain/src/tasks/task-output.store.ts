import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TenantScope } from '../auth/tenant-scope';

/** What a raw-output plugin printed on stdout: its media type, and whether it was cut at the cap. */
export interface TaskOutputInfo {
  media_type: string;
  /** How many bytes the plugin printed; more than the content's length when cut. */
  bytes: number;
  truncated: boolean;
}

export interface TaskOutputFile extends TaskOutputInfo {
  content: Buffer;
}

/**
 * Where a task's output file is kept. The PostgreSQL store below is the embedded default; an
 * S3-compatible store implements the same three methods (content in a bucket under the task's id,
 * these fields beside it), for deployments whose outputs outgrow the database.
 */
export interface TaskOutputStore {
  /** Keeps the file of the attempt that is running; false (nothing kept) if the task is no longer that attempt's. */
  save(taskId: string, attempt: number, file: TaskOutputFile): Promise<boolean>;
  /** The file, if the task completed with one and is visible in the scope. */
  read(taskId: string, scope: TenantScope): Promise<TaskOutputFile | null>;
  /** The file's fields without its content: what a normalizer is told about its input. */
  describe(taskId: string, scope: TenantScope): Promise<TaskOutputInfo | null>;
}

export const TASK_OUTPUT_STORE = Symbol('TASK_OUTPUT_STORE');

/**
 * Output files as rows of task_output (bytea), deleted with their task. A file is read only while its
 * task is COMPLETED: an attempt that saved one and then lost its task (cancelled, taken over) left it
 * on a task that did not complete with it, and a retry that completes replaces it.
 */
@Injectable()
export class PostgresTaskOutputStore implements TaskOutputStore {
  constructor(private readonly db: DataSource) {}

  async save(taskId: string, attempt: number, file: TaskOutputFile): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO task_output (task_id, media_type, content, bytes, truncated)
       SELECT id, $3, $4, $5, $6 FROM task WHERE id = $1 AND status = 'RUNNING' AND attempts = $2
       ON CONFLICT (task_id) DO UPDATE SET media_type = excluded.media_type, content = excluded.content,
         bytes = excluded.bytes, truncated = excluded.truncated, created_at = now()
       RETURNING task_id`,
      [taskId, attempt, file.media_type, file.content, file.bytes, file.truncated],
    );
    return rows.length === 1;
  }

  async read(taskId: string, scope: TenantScope): Promise<TaskOutputFile | null> {
    return this.find<TaskOutputFile>(taskId, scope, 'f.media_type, f.content, f.bytes, f.truncated');
  }

  describe(taskId: string, scope: TenantScope): Promise<TaskOutputInfo | null> {
    return this.find<TaskOutputInfo>(taskId, scope, 'f.media_type, f.bytes, f.truncated');
  }

  /** A COMPLETED task's file in the scope, these columns of it (bytes, a bigint, as a number). */
  private async find<T extends TaskOutputInfo>(taskId: string, scope: TenantScope, columns: string): Promise<T | null> {
    const rows: Array<T & { bytes: string }> = await this.db.query(
      `SELECT ${columns} FROM task_output f JOIN task t ON t.id = f.task_id
       WHERE f.task_id = $1 AND t.status = 'COMPLETED' AND ($2::int IS NULL OR t.organization_id = $2)`,
      [taskId, scope.organizationId],
    );
    return rows[0] ? { ...rows[0], bytes: Number(rows[0].bytes) } : null;
  }
}
