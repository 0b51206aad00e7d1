import { TaskStatus, TaskView } from '@kat/domain';
import { COUNT_CAP, Page } from '../../common/pagination';
import { escape, shortId } from '../html';
import { layout, SignedInShell } from './layout';
import {
  badge,
  Column,
  duration,
  firstLine,
  organizationPicker,
  table,
  waitingFor,
  what,
  when,
  withOrg,
} from './parts';

/** The list's filters, as the URL carries them. */
export type TaskListFilters = Partial<
  Record<'status' | 'type' | 'priority' | 'plugin_id' | 'input_data' | 'cursor', string>
>;

/** The organization's tasks, newest first, with filters; refreshes itself while a shown task is active. */
export function taskListPage(
  shell: SignedInShell,
  list: Page<TaskView>,
  filters: TaskListFilters,
  organizations: string[],
): string {
  const { caller } = shell;
  const select = (name: 'status' | 'type' | 'priority', options: string[]) => `<div><label for="${name}">${name}</label>
    <select id="${name}" name="${name}"><option value="">any</option>
    ${options.map((o) => `<option${filters[name] === o ? ' selected' : ''}>${o}</option>`).join('')}</select></div>`;
  const input = (name: 'plugin_id' | 'input_data', label: string) => `<div><label for="${name}">${label}</label>
    <input id="${name}" name="${name}" value="${escape(filters[name] ?? '')}"></div>`;
  const rows = list.results.map(
    (t) => `<tr><td>${escape(t.data.input_data ?? '—')}</td>
    <td>${escape(t.type)}: ${escape(what(t))}</td><td>${t.priority}</td>
    <td>${badge(t.status)}${t.waiting_for ? `<br><small class="muted">waits for ${waitingFor(t)}</small>` : ''}</td>
    <td class="optional">${when(t.created_at)}</td><td class="optional">${duration(t)}</td>
    <td>${escape(firstLine(t.data.error))}</td>
    <td><a href="${withOrg(caller, `/tasks/${t.id}/`)}" aria-label="Task ${shortId(t.id)} details">details</a></td>
    </tr>`,
  );
  const kept = Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) as Record<string, string>;
  const { cursor: _cursor, ...matching } = kept;
  const older = list.next_cursor
    ? `<p><a href="${withOrg(caller, '/tasks/', { ...kept, cursor: list.next_cursor })}">Older tasks →</a></p>`
    : '';
  const active = list.results.some((t) => t.status === TaskStatus.PENDING || t.status === TaskStatus.RUNNING);
  const organization =
    caller.isAdmin && caller.scope.organizationCode
      ? `<input type="hidden" name="organization" value="${escape(caller.scope.organizationCode)}">`
      : '';
  const refreshing = active ? ' · refreshing every 5 s while tasks are pending or running' : '';
  const columns: Column[] = [
    'Input',
    'Plugin / rule / report',
    'Priority',
    'Status',
    { label: 'Created', optional: true },
    { label: 'Duration', optional: true },
    'Error',
    '<span class="muted">Link</span>',
  ];
  return layout(
    shell,
    'Tasks',
    `${organizationPicker(caller, organizations)}
    <form method="get" class="filters">${organization}
    ${select('status', Object.values(TaskStatus))}${select('type', ['plugin', 'business_rule', 'report'])}
    ${select('priority', ['1', '2', '3', '4', '5', '6', '7', '8', '9'])}
    ${input('plugin_id', 'plugin')}${input('input_data', 'input')}
    <button>Filter</button></form>
    <p class="muted">${list.count}${list.count >= COUNT_CAP ? '+' : ''} task(s)${refreshing}</p>
    <p>With these filters:
      <a href="${withOrg(caller, '/tasks/bulk/retry', matching)}">retry the failed or cancelled…</a>
      · <a href="${withOrg(caller, '/tasks/bulk/cancel', matching)}">cancel the pending or running…</a></p>
    ${table(columns, rows, 'No tasks.', '<caption class="muted">Newest first</caption>')}${older}`,
    { refresh: active },
  );
}
