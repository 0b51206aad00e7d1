import { Schedule } from '@kat/domain';
import { escape } from '../html';
import { layout, SignedInShell } from './layout';
import { actionButton, organizationPicker, table, when, withOrg } from './parts';

/** The organization's schedules with their switch and Run now; `schedules` null: no organization chosen yet. */
export function schedulesPage(shell: SignedInShell, schedules: Schedule[] | null, organizations: string[]): string {
  const { caller, csrf } = shell;
  const picker = organizationPicker(caller, organizations);
  if (schedules === null) return layout(shell, 'Schedules', picker);
  const rows = schedules.map(
    (s) => `<tr>
    <td>${escape(s.plugin_id)}</td><td>${escape(s.object_set_id)}</td><td>${s.interval_seconds} s</td>
    <td>${s.enabled ? 'enabled' : 'disabled'}</td><td>${when(s.last_run_at)}</td>
    <td>${actionButton(csrf, withOrg(caller, `/schedules/${s.id}/toggle`), s.enabled ? 'Disable' : 'Enable')}
    ${actionButton(csrf, withOrg(caller, `/schedules/${s.id}/run`), 'Run now', true)}</td></tr>`,
  );
  const columns = ['Plugin', 'Object set', 'Interval', 'State', 'Last run', 'Actions'];
  return layout(shell, 'Schedules', `${picker}${table(columns, rows, 'No schedules.')}`);
}
