import { ObjectTaskRecord, TaskLog, TaskStatus, TaskView } from '@kat/domain';
import { escape, shortId } from '../html';
import { layout, SignedInShell } from './layout';
import { actionButton, badge, definitions, duration, table, waitingFor, what, when, withOrg } from './parts';

const NO_LOG = { stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false };

/** Everything about a task, with the Run / Retry / Cancel forms its status allows. */
export function taskDetailPage(
  shell: SignedInShell,
  task: TaskView,
  log: TaskLog | null,
  produced: ObjectTaskRecord[],
  children: TaskView[],
): string {
  const { caller, csrf } = shell;
  const action = (name: string) => withOrg(caller, `/tasks/${task.id}/${name}`);
  const pending = task.status === TaskStatus.PENDING;
  const active = pending || task.status === TaskStatus.RUNNING;
  const buttons = [
    pending && actionButton(csrf, action('run'), 'Run task', true),
    (task.status === TaskStatus.FAILED || task.status === TaskStatus.CANCELLED) &&
      actionButton(csrf, action('retry'), 'Retry', true),
    active && actionButton(csrf, action('cancel'), 'Cancel'),
  ]
    .filter(Boolean)
    .join(' ');
  const organization = caller.isAdmin ? `?organization=${escape(caller.scope.organizationCode)}` : '';
  const objectRows = produced.map(
    (o) =>
      `<tr><td>${escape(o.output_type)}</td>
    <td><a href="/api/v1/objects/${escape(o.output_type)}/${encodeURIComponent(o.output_object)}/${organization}">` +
      `${escape(o.output_object)}</a></td></tr>`,
  );
  const { error, traceback, errors, ...data } = task.data;
  const attempts = Array.isArray(errors) ? (errors as Array<{ attempt: number; at: string; error: string }>) : [];
  const attemptRows = attempts.map(
    (e) => `<tr><td>${e.attempt}</td><td>${when(e.at)}</td><td>${escape(String(e.error ?? ''))}</td></tr>`,
  );
  const { stdout, stderr, stdout_truncated, stderr_truncated } = log ?? NO_LOG;
  const output = (text: string) => escape(text) || '<span class="muted">(empty)</span>';
  const cut = (truncated: boolean) => (truncated ? ' (cut at the cap)' : '');
  const file = data.output as { media_type: string; bytes: number; truncated: boolean } | undefined;
  const fileLink = file
    ? `<p><a href="/api/v1/tasks/${escape(task.id)}/output/${organization}" download>Download the output file</a>
      <span class="muted">(${escape(file.media_type)}, ${file.bytes} bytes${cut(file.truncated)})</span></p>`
    : '';
  return layout(
    shell,
    `Task ${shortId(task.id)}`,
    `<p>${badge(task.status)} ${buttons}</p>
    ${definitions([
      ['Id', escape(task.id)],
      ['Organization', escape(task.organization)],
      ['Type', escape(task.type)],
      ['Created', when(task.created_at)],
      ['Started', when(task.started_at)],
      ['Ended', when(task.ended_at)],
      ['Duration', duration(task)],
      ['Attempts', String(task.attempts)],
      ['Priority', `${task.priority} <span class="muted">(1 first, 9 last)</span>`],
      ...(task.waiting_for ? ([['Waiting for', waitingFor(task)]] as Array<[string, string]>) : []),
      ...(task.rate_key ? ([['Rate key', escape(task.rate_key)]] as Array<[string, string]>) : []),
      [
        'Schedule',
        task.schedule_id ? `<a href="${withOrg(caller, '/schedules/')}">${escape(task.schedule_id)}</a>` : '—',
      ],
      [
        'Parent task',
        task.parent_task_id
          ? `<a href="${withOrg(caller, `/tasks/${task.parent_task_id}/`)}">${escape(task.parent_task_id)}</a>`
          : '—',
      ],
    ])}
    <h2>Timeline</h2>${timeline(task)}
    <h2>Data</h2><pre>${escape(JSON.stringify(data, null, 2))}</pre>
    ${
      error
        ? `<h2>Error</h2><p class="notice error" role="alert">${escape(error)}</p>
      <h3>Traceback</h3><pre>${escape(traceback ?? '')}</pre>`
        : ''
    }
    ${attempts.length ? `<h2>Failed attempts</h2>${table(['Attempt', 'At', 'Error'], attemptRows, null)}` : ''}
    <h2>Output</h2>${fileLink}<h3>stdout${cut(stdout_truncated)}</h3><pre>${output(stdout)}</pre>
    <h3>stderr${cut(stderr_truncated)}</h3><pre>${output(stderr)}</pre>
    <h2>Objects it produced</h2>${table(['Type', 'Object'], objectRows, 'None.')}
    <h2>Tasks chained from it</h2>${table(
      ['Task', 'Plugin / rule / report', 'Input', 'Status'],
      children.map(
        (c) =>
          `<tr><td><a href="${withOrg(caller, `/tasks/${c.id}/`)}">task ${shortId(c.id)}</a></td>` +
          `<td>${escape(what(c))}</td><td>${escape(String(c.data.input_data ?? '—'))}</td>` +
          `<td>${badge(c.status)}</td></tr>`,
      ),
      'None: no follow-up or normalizer task came from it.',
    )}`,
    { refresh: active },
  );
}

/** Created, waited, started, ran, ended: each step's time, and a bar of waiting against running. */
function timeline(task: TaskView): string {
  const at = (date: Date | string | null) => (date ? new Date(date).getTime() : null);
  const [created, started, ended] = [at(task.created_at), at(task.started_at), at(task.ended_at)];
  const span = (from: number | null, to: number | null) =>
    from !== null && to !== null ? `${((to - from) / 1000).toFixed(1)} s` : '—';
  const waited = started ?? ended ?? Date.now();
  const ran = started === null ? 0 : (ended ?? Date.now()) - started;
  const total = Math.max(1, waited - (created ?? waited) + ran);
  const share = (ms: number) => Math.round((100 * ms) / total);
  const label = `waited ${span(created, started ?? ended)}, ran ${span(started, ended)}`;
  const bar = `<svg class="meter" viewBox="0 0 100 10" width="300" height="12" role="img" aria-label="${label}">
    <rect class="meter-track" width="100" height="10"></rect>
    <rect class="meter-share" x="${share(waited - (created ?? waited))}" width="${share(ran)}" height="10">
    </rect></svg>`;
  return `${definitions([
    ['Created', when(task.created_at)],
    ['Waited', span(created, started ?? ended)],
    ['Started', when(task.started_at)],
    ['Ran', span(started, ended)],
    ['Ended', when(task.ended_at)],
  ])}<p>${bar} <span class="muted">grey: waiting, blue: running</span></p>`;
}
