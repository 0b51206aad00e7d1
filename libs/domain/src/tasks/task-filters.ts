import { TenantScope } from '../auth/tenant-scope';
import { TaskStatus, TaskType } from './task-state';

/** Which tasks: the list's filters, the bulk actions' and the stats'. */
export interface TaskFilters {
  status?: TaskStatus;
  type?: TaskType;
  plugin_id?: string;
  input_data?: string;
  schedule_id?: string;
  priority?: number;
  created_after?: Date;
  created_before?: Date;
}

/** The WHERE conditions (on `task t`) and their parameters for a scope and filters; each served by the task indexes. */
export function taskFilterSql(scope: TenantScope, filters: TaskFilters): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (scope.organizationId !== null) add('t.organization_id = ?', scope.organizationId);
  if (filters.status) add('t.status = ?', filters.status);
  if (filters.type) add('t.type = ?', filters.type);
  if (filters.plugin_id) add('t.plugin_id = ?', filters.plugin_id);
  if (filters.input_data) add('t.input_object = ?', filters.input_data);
  if (filters.schedule_id) add('t.schedule_id = ?', filters.schedule_id);
  if (filters.priority) add('t.priority = ?', filters.priority);
  if (filters.created_after) add('t.created_at >= ?', filters.created_after);
  if (filters.created_before) add('t.created_at < ?', filters.created_before);
  return { where, params };
}
