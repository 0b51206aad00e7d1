import { Body, Get, Param, Query } from '@nestjs/common';
import { TaskRepository, TaskStatus } from '@kat/domain';
import { notFound } from '../common/errors';
import { COUNT_CAP } from '../common/pagination';
import { AdminOnly } from '../auth/authenticated';
import { SignedIn } from '../auth/session.guard';
import { ObjectsService } from '../objects/objects.service';
import { ListTasksQuery, TaskFiltersDto } from '../tasks/dto/task.dto';
import { TasksService } from '../tasks/tasks.service';
import { shortId } from './html';
import { OrganizationChoices } from './organization-choices';
import { FormPost, formOutcome, PageController, validated } from './page-controller';
import { PageShell } from './page-shell';
import { SignedInShell } from './templates/layout';
import { BULK_ACTIONS, BulkAction, bulkActionPage } from './templates/bulk-action';
import { pendingTasksPage } from './templates/pending-tasks';
import { withOrg } from './templates/parts';
import { taskDetailPage } from './templates/task-detail';
import { TaskListFilters, taskListPage } from './templates/task-list';
import { pageIdParam } from '../common/uuid-param';

const PAGE_SIZE = 50;
const FILTERS = ['status', 'type', 'priority', 'plugin_id', 'input_data', 'cursor'] as const;
/** The list's filters a bulk action takes (the cursor is a position, not a filter). */
const BULK_FILTERS = ['status', 'type', 'priority', 'plugin_id', 'input_data'] as const;
const BULK_STATUSES: Record<BulkAction, TaskStatus[]> = {
  retry: [TaskStatus.FAILED, TaskStatus.CANCELLED],
  cancel: [TaskStatus.PENDING, TaskStatus.RUNNING],
};

/** The tasks: the list, one task with its Run / Retry / Cancel forms, and the admins' pending tasks. */
@PageController()
@SignedIn()
export class TaskPagesController {
  constructor(
    private readonly tasks: TasksService,
    private readonly taskRows: TaskRepository,
    private readonly objects: ObjectsService,
    private readonly organizations: OrganizationChoices,
  ) {}

  @Get('tasks/')
  async list(@PageShell() shell: SignedInShell, @Query() query: Record<string, unknown>): Promise<string> {
    const filters: TaskListFilters = Object.fromEntries(
      FILTERS.map((name) => {
        const value = query[name];
        return [name, typeof value === 'string' && value ? value : undefined];
      }),
    );
    const priority = /^[1-9]$/.test(filters.priority ?? '') ? Number(filters.priority) : undefined;
    const list = await this.tasks.list(shell.caller.scope, {
      ...filters,
      priority,
      limit: PAGE_SIZE,
    } as ListTasksQuery);
    return taskListPage(shell, list, filters, await this.organizations.offeredTo(shell.caller));
  }

  /** A bulk action's confirmation: how many tasks the list's filters select that it would change. */
  @Get('tasks/bulk/:action')
  async confirmBulk(
    @PageShell() shell: SignedInShell,
    @Param('action') action: string,
    @Query() query: Record<string, unknown>,
  ): Promise<string> {
    const chosen = bulkAction(action);
    const filters = bulkFilters(query);
    const count = await this.tasks.countMatching(
      shell.caller.scope,
      await validated(TaskFiltersDto, filters),
      BULK_STATUSES[chosen],
    );
    return bulkActionPage(shell, chosen, filters, count, count >= COUNT_CAP);
  }

  /** Declared before tasks/:id/retry, which would take "bulk" for an id. */
  @FormPost('tasks/bulk/:action')
  bulk(@PageShell() shell: SignedInShell, @Param('action') action: string, @Body() form: Record<string, unknown>) {
    const chosen = bulkAction(action);
    const filters = bulkFilters(form);
    return formOutcome(withOrg(shell.caller, '/tasks/', filters), async () => {
      const scope = shell.caller.scope;
      const matching = await validated(TaskFiltersDto, filters);
      const { count } =
        chosen === 'retry'
          ? await this.tasks.retryMatching(scope, matching)
          : await this.tasks.cancelMatching(scope, matching);
      return `${chosen === 'retry' ? 'Retried' : 'Cancelled'} ${count} task(s).`;
    });
  }

  @Get('tasks/:id/')
  async detail(@PageShell() shell: SignedInShell, @Param('id', pageIdParam()) id: string): Promise<string> {
    const task = await this.tasks.get(shell.caller.scope, id);
    const [log, produced, children] = await Promise.all([
      this.taskRows.findLog(task.id),
      this.objects.objectTasks(shell.caller.scope, { task_id: task.id, limit: '500' }),
      this.taskRows.children(task.id, shell.caller.scope, 200),
    ]);
    return taskDetailPage(shell, task, log, produced.results, children);
  }

  @FormPost('tasks/:id/run')
  run(@PageShell() shell: SignedInShell, @Param('id', pageIdParam()) id: string) {
    return formOutcome(withOrg(shell.caller, `/tasks/${id}/`), async () => {
      await this.tasks.run(shell.caller.scope, id);
      return 'Queued: a worker runs it next.';
    });
  }

  @FormPost('tasks/:id/retry')
  retry(@PageShell() shell: SignedInShell, @Param('id', pageIdParam()) id: string) {
    return formOutcome(withOrg(shell.caller, `/tasks/${id}/`), async () => {
      await this.tasks.retry(shell.caller.scope, id);
      return 'Retrying: the task is PENDING again.';
    });
  }

  @FormPost('tasks/:id/cancel')
  cancel(@PageShell() shell: SignedInShell, @Param('id', pageIdParam()) id: string) {
    return formOutcome(withOrg(shell.caller, `/tasks/${id}/`), async () => {
      await this.tasks.cancel(shell.caller.scope, id);
      return 'Cancelled.';
    });
  }

  /** OpenKAT's operators look here for tasks waiting to run. */
  @Get('admin/tasks/task/')
  @AdminOnly()
  async pending(@PageShell() shell: SignedInShell): Promise<string> {
    return pendingTasksPage(
      shell,
      (await this.taskRows.list(shell.caller.scope, { status: TaskStatus.PENDING }, 200)).tasks,
    );
  }

  @FormPost('admin/tasks/task/:id/run')
  @AdminOnly()
  runPending(@PageShell() shell: SignedInShell, @Param('id', pageIdParam()) id: string) {
    return formOutcome('/admin/tasks/task/', async () => {
      await this.tasks.run(shell.caller.scope, id);
      return `Task ${shortId(id)} queued.`;
    });
  }
}

function bulkAction(action: string): BulkAction {
  if (!Object.prototype.hasOwnProperty.call(BULK_ACTIONS, action)) throw notFound(`no bulk action ${action}`);
  return action as BulkAction;
}

/** The filters given (as text, the empty ones left out), from a query or a form. */
function bulkFilters(given: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    BULK_FILTERS.flatMap((name) => (typeof given[name] === 'string' && given[name] ? [[name, given[name]]] : [])),
  );
}
