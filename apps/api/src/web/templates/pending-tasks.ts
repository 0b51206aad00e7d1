import { TaskView } from '@kat/domain';
import { escape } from '../html';
import { layout, SignedInShell } from './layout';
import { actionButton, table, waitingFor, what, when } from './parts';

/** Every PENDING task, each with a Run task button: the page OpenKAT's docs send operators to. */
export function pendingTasksPage(shell: SignedInShell, pending: TaskView[]): string {
  const rows = pending.map(
    (t) => `<tr><td>${escape(t.organization)}</td><td>${escape(t.data.input_data ?? '—')}</td>
    <td>${escape(what(t))}</td><td>${t.priority}</td><td>${waitingFor(t)}</td><td>${when(t.created_at)}</td>
    <td><a href="/tasks/${t.id}/?organization=${escape(t.organization)}">details</a></td>
    <td>${actionButton(
      shell.csrf,
      `/admin/tasks/task/${t.id}/run?organization=${encodeURIComponent(t.organization)}`,
      'Run task',
      true,
    )}</td></tr>`,
  );
  const columns = [
    'Organization',
    'Input',
    'Plugin / rule / report',
    'Priority',
    'Waiting for',
    'Created',
    'Details',
    'Action',
  ];
  return layout(shell, 'Pending tasks', table(columns, rows, 'Nothing is waiting.'));
}
