import { AuditEntry } from '@kat/domain';
import { escape } from '../html';
import { layout, SignedInShell } from './layout';
import { table, when, withOrg } from './parts';

/** Operator actions, newest first, filtered by action; `next`: the next page's cursor. */
export function auditLogPage(shell: SignedInShell, entries: AuditEntry[], action: string, next: string | null): string {
  const rows = entries.map(
    (e) => `<tr><td>${when(e.at)}</td><td>${escape(e.organization ?? '—')}</td><td>${escape(e.actor)}</td>
    <td>${escape(e.via)}</td><td>${escape(e.action)}</td><td>${escape(e.target_id ?? '')}</td>
    <td><code>${escape(JSON.stringify(e.changes))}</code></td></tr>`,
  );
  const organization = shell.caller.isAdmin ? shell.caller.scope.organizationCode : null;
  const filters = `<form method="get" class="filters">
    ${organization ? `<input type="hidden" name="organization" value="${escape(organization)}">` : ''}
    <div><label for="action">Action</label><input id="action" name="action" value="${escape(action)}"
    placeholder="task.cancel"></div><button>Filter</button></form>`;
  const older = withOrg(shell.caller, '/audit-log/', { ...(action && { action }), cursor: next ?? '' });
  const more = next ? `<p><a href="${escape(older)}">Older</a></p>` : '';
  const columns = ['When', 'Organization', 'Actor', 'Via', 'Action', 'Target', 'Changes'];
  return layout(shell, 'Audit log', `${filters}${table(columns, rows, 'Nothing recorded yet.')}${more}`);
}
