import { StoredReport } from '@kat/domain';
import { escape } from '../html';
import { layout, Shell, SignedInShell } from './layout';
import { organizationPicker, table, when, withOrg } from './parts';

/** The organization's HTML reports, newest first; `reports` null: no organization chosen yet. */
export function reportsPage(
  shell: SignedInShell,
  reports: Array<Omit<StoredReport, 'data'>> | null,
  organizations: string[],
): string {
  const picker = organizationPicker(shell.caller, organizations);
  if (reports === null) return layout(shell, 'Reports', picker);
  const rows = reports.map(
    (r) => `<tr>
    <td><a href="${withOrg(shell.caller, `/reports/${r.id}/`)}">${escape(r.report_type)}</a></td>
    <td>${when(r.created_at)}</td><td>${escape(r.object_set_id ?? 'whole organization')}</td></tr>`,
  );
  return layout(
    shell,
    'Reports',
    `${picker}${table(['Report', 'Created', 'Scope'], rows, 'No reports yet: create a report task.')}`,
  );
}

export const noSuchReportPage = (shell: Shell) => layout(shell, 'Not found', '<p>No such report.</p>');
