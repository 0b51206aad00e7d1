import { escape } from '../html';
import { layout, SignedInShell } from './layout';
import { withOrg } from './parts';

/** A bulk action of the task list: what it does, to which tasks. */
export const BULK_ACTIONS = {
  retry: {
    title: 'Retry matching tasks',
    statuses: 'failed or cancelled',
    button: 'Retry',
    effect:
      'Each goes back in line (PENDING) with the same id. A plugin task whose plugin and input already have ' +
      'an active task stays as it is, and of several tasks of one plugin and input only the newest is retried.',
  },
  cancel: {
    title: 'Cancel matching tasks',
    statuses: 'pending or running',
    button: 'Cancel',
    effect: 'Waiting tasks will not start; running plugins are stopped at their next heartbeat.',
  },
} as const;
export type BulkAction = keyof typeof BULK_ACTIONS;

/** The count of what a bulk action would change, and the form that does it (none when nothing matches). */
export function bulkActionPage(
  shell: SignedInShell,
  action: BulkAction,
  filters: Record<string, string>,
  count: number,
  capped: boolean,
): string {
  const { caller, csrf } = shell;
  const what = BULK_ACTIONS[action];
  const described = Object.entries(filters).map(([name, value]) => `${escape(name)} = ${escape(value)}`);
  const matches = `${count}${capped ? ' or more' : ''} ${what.statuses} task(s)`;
  const hidden = Object.entries(filters)
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join('');
  const confirm =
    count === 0
      ? '<p>Nothing to do.</p>'
      : `<form method="post" action="${escape(withOrg(caller, `/tasks/bulk/${action}`))}">
        <input type="hidden" name="csrf" value="${csrf}">${hidden}
        <button class="primary">${what.button} ${matches}</button></form>`;
  return layout(
    shell,
    what.title,
    `<p><strong>${matches}</strong> match ${described.length ? described.join(', ') : 'no filter: every task'}.</p>
    <p class="muted">${escape(what.effect)}</p>${confirm}
    <p><a href="${escape(withOrg(caller, '/tasks/', filters))}">Back to the list</a></p>`,
  );
}
