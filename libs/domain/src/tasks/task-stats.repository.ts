import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TenantScope } from '../auth/tenant-scope';
import { TaskFilters, taskFilterSql } from './task-filters';
import { TaskStatus } from './task-state';

/** How a plugin's tasks that ended in a window went. */
export interface PluginHealth {
  plugin_id: string;
  ended: number;
  failed: number;
  /** Of those that ran: seconds from start to end. */
  p50_seconds: number | null;
  p95_seconds: number | null;
}

/** What is waiting and running now. */
export interface QueueNow {
  pending_by_priority: Array<{ priority: number; pending: number }>;
  /** Every organization's waiting tasks (for a scope of all organizations), most first. */
  pending_by_organization: Array<{ organization: string; pending: number }> | null;
  running: number;
}

/**
 * The numbers behind the dashboard and GET /tasks/stats/: counts, durations and errors over task,
 * each a single set-based statement served by an index (named on each).
 */
@Injectable()
export class TaskStatsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * How many tasks match, per status and per hour or day (UTC) of their creation, within
   * [since, until): for one organization an index-only scan of task_org_status_created per status.
   */
  async countsPerBucket(
    scope: TenantScope,
    filters: TaskFilters,
    bucket: 'hour' | 'day',
    since: Date,
    until: Date,
  ): Promise<Array<{ start: Date; status: TaskStatus; n: number }>> {
    const { where, params } = taskFilterSql(scope, filters);
    params.push(since, until, bucket);
    const n = params.length;
    where.push(`t.created_at >= $${n - 2}`, `t.created_at < $${n - 1}`);
    return this.db.query(
      `SELECT date_trunc($${n}, t.created_at, 'UTC') AS start, t.status, count(*)::int AS n
       FROM task t WHERE ${where.join(' AND ')} GROUP BY 1, 2`,
      params,
    );
  }

  /** Waiting tasks by priority (and by organization), and running ones: task_org_status_created, task_running. */
  async queueNow(scope: TenantScope): Promise<QueueNow> {
    const org = scope.organizationId;
    const [byPriority, byOrganization, [{ running }]] = await Promise.all([
      this.db.query(
        `SELECT priority, count(*)::int AS pending FROM task
         WHERE status = 'PENDING' AND ($1::int IS NULL OR organization_id = $1) GROUP BY priority ORDER BY priority`,
        [org],
      ),
      org !== null
        ? null
        : this.db.query(
            `SELECT o.code AS organization, count(*)::int AS pending
             FROM task t JOIN organization o ON o.id = t.organization_id
             WHERE t.status = 'PENDING' GROUP BY o.code ORDER BY pending DESC, o.code LIMIT 20`,
          ),
      this.db.query(
        `SELECT count(*)::int AS running FROM task
         WHERE status = 'RUNNING' AND ($1::int IS NULL OR organization_id = $1)`,
        [org],
      ),
    ]);
    return { pending_by_priority: byPriority, pending_by_organization: byOrganization, running };
  }

  /** Per plugin, the tasks that ended since `since`: how many, how many failed, p50 and p95 run time. task_ended. */
  pluginHealth(scope: TenantScope, since: Date): Promise<PluginHealth[]> {
    return this.db.query(
      `SELECT plugin_id, count(*)::int AS ended, count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - started_at))::float AS p50_seconds,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - started_at))::float AS p95_seconds
       FROM task
       WHERE status IN ('COMPLETED', 'FAILED') AND ended_at IS NOT NULL AND ended_at >= $2 AND type = 'plugin'
         AND ($1::int IS NULL OR organization_id = $1)
       GROUP BY plugin_id ORDER BY plugin_id`,
      [scope.organizationId, since],
    );
  }

  /** The errors tasks failed with most often since `since`, with their plugin. task_ended. */
  frequentErrors(
    scope: TenantScope,
    since: Date,
    limit: number,
  ): Promise<Array<{ error: string; plugin_id: string | null; count: number }>> {
    return this.db.query(
      `SELECT coalesce(data->>'error', '') AS error, plugin_id, count(*)::int AS count
       FROM task
       WHERE status = 'FAILED' AND ended_at IS NOT NULL AND ended_at >= $2 AND ($1::int IS NULL OR organization_id = $1)
       GROUP BY 1, 2 ORDER BY count DESC, error LIMIT $3`,
      [scope.organizationId, since, limit],
    );
  }
}
