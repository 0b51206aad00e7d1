import { SchedulerJobState } from '@kat/domain';
import { escape } from '../html';
import { layout, SignedInShell } from './layout';
import { actionButton, table, when } from './parts';

/** The scheduler's global switch, and each periodic job with its last run and its own switch. */
export function schedulerPage(shell: SignedInShell, enabled: boolean, jobs: SchedulerJobState[]): string {
  const { csrf } = shell;
  const onOff = (on: boolean) => (on ? 'enabled' : 'disabled');
  const rows = jobs.map(
    (j) => `<tr><td>${escape(j.name)}</td><td><code>${escape(j.cron)}</code></td>
    <td>${onOff(j.enabled)}</td><td>${when(j.last_run_at)}</td><td>${j.last_duration_ms ?? '—'} ms</td>
    <td><code>${escape(JSON.stringify(j.last_result ?? {}))}</code></td><td>${when(j.next_run_at)}</td>
    <td>${actionButton(csrf, `/scheduler/jobs/${encodeURIComponent(j.name)}/toggle`, j.enabled ? 'Disable' : 'Enable')}
    </td></tr>`,
  );
  const columns = ['Job', 'Cron', 'State', 'Last run', 'Took', 'Result', 'Next run', 'Action'];
  const label = enabled ? 'Disable the scheduler' : 'Enable the scheduler';
  return layout(
    shell,
    'Scheduler',
    `<p>The scheduler is <strong>${onOff(enabled)}</strong>.
    ${actionButton(csrf, '/scheduler/toggle', label, true)}</p>${table(columns, rows, null)}`,
  );
}
