import { FindingView, Plugin, SEVERITIES, Severity } from '@kat/domain';
import { escape, shortId } from '../html';
import { layout, SignedInShell } from './layout';
import { actionButton, link, organizationPicker, table, when, withOrg } from './parts';
import { objectHref } from './objects';

/** Findings, most severe first, each with the object it is about and the task that observed it. */
export function findingsPage(
  shell: SignedInShell,
  severity: Severity | null,
  findings: FindingView[] | null,
  organizations: string[],
): string {
  const { caller } = shell;
  if (findings === null)
    return layout(shell, 'Findings', `${organizationPicker(caller, organizations)}<p>Pick an organization.</p>`);
  const choices = [null, ...SEVERITIES].map((s) => {
    const label = s ?? 'all';
    return s === severity
      ? `<strong aria-current="page">${label}</strong>`
      : link(withOrg(caller, '/findings/', s ? { severity: s } : {}), label);
  });
  const observedBy = (f: FindingView) =>
    f.observed_by
      ? link(withOrg(caller, `/tasks/${f.observed_by}/`), `${f.observed_by_plugin ?? 'task'} ${shortId(f.observed_by)}`)
      : '—';
  const rows = findings.map(
    (f) =>
      `<tr><td><span class="severity ${escape(f.severity ?? '')}">${escape(f.severity ?? '—')}</span></td>` +
      `<td>${link(objectHref(caller, 'finding', f.primary_key), f.name ?? f.finding_type)}</td>` +
      `<td>${link(objectHref(caller, f.ooi_type, f.ooi), `${f.ooi_type} ${f.ooi}`)}</td>` +
      `<td class="optional">${escape(f.evidence ?? '')}</td>` +
      `<td>${observedBy(f)}</td>` +
      `<td class="optional">${when(f.last_seen)}</td></tr>`,
  );
  const columns = [
    'Severity',
    'Finding',
    'Object',
    { label: 'Evidence', optional: true as const },
    'Observed by',
    { label: 'Last seen', optional: true as const },
  ];
  return layout(
    shell,
    'Findings',
    `${organizationPicker(caller, organizations)}
    <nav aria-label="Severity"><p>Severity: ${choices.join(' · ')}</p></nav>
    ${table(columns, rows, 'No findings.')}`,
  );
}

/** An admin's form for a plugin's rate limit, retry policy and settings (one `NAME=value` per line). */
function limitsForm(csrf: string, p: Plugin): string {
  const id = (field: string) => `${escape(p.plugin_id)}-${field}`;
  const field = (name: string, label: string, value: unknown, type = 'text') =>
    `<div><label for="${id(name)}">${label}</label>
      <input id="${id(name)}" name="${name}" type="${type}" value="${escape(String(value ?? ''))}"></div>`;
  const settings = Object.entries(p.settings)
    .map(([name, value]) => `${name}=${value}`)
    .join('\n');
  return `<details><summary>Edit limits and settings of ${escape(p.plugin_id)}</summary>
    <form method="post" action="/plugins/${encodeURIComponent(p.plugin_id)}/edit" class="filters">
      <input type="hidden" name="csrf" value="${csrf}">
      ${field('rate_limit_key', 'rate limit key', p.rate_limit?.key)}
      ${field('rate_limit_concurrency', 'at once', p.rate_limit?.concurrency, 'number')}
      ${field('rate_limit_per_minute', 'per minute', p.rate_limit?.per_minute, 'number')}
      ${field('retry_max_attempts', 'attempts', p.retry?.max_attempts, 'number')}
      ${field('retry_backoff_seconds', 'back-off (s)', p.retry?.backoff_seconds, 'number')}
      <div><label for="${id('settings')}">settings (NAME=value)</label>
        <textarea id="${id('settings')}" name="settings" rows="3">${escape(settings)}</textarea></div>
      <button>Save</button></form></details>`;
}

/** The plugin catalogue; admins switch plugins on and off and edit their limits and settings here. */
export function pluginsPage(shell: SignedInShell, plugins: Plugin[]): string {
  const { caller, csrf } = shell;
  const list = (values: string[]) => escape(values.join(', ') || '—');
  const rows = plugins.map((p) => {
    const output = p.output === 'raw' ? `raw (${escape(p.media_type ?? '')})` : 'objects';
    const limits = [
      p.rate_limit && `rate limit ${escape(JSON.stringify(p.rate_limit))}`,
      p.retry && `retry ${p.retry.max_attempts}× after ${p.retry.backoff_seconds} s`,
    ].filter(Boolean);
    const toggle = caller.isAdmin
      ? actionButton(csrf, `/plugins/${encodeURIComponent(p.plugin_id)}/toggle`, p.enabled ? 'Disable' : 'Enable')
      : '';
    return (
      `<tr><td><strong>${escape(p.plugin_id)}</strong><br>` +
      `<span class="muted">${escape(p.description || p.name)}</span></td>` +
      `<td>${list(p.consumes)}</td><td class="optional">${list(p.produces)}</td><td>${output}</td>` +
      `<td class="optional">${escape(p.image)}<br>${limits.join('<br>')}` +
      `${Object.keys(p.settings).length ? `<br>settings: ${list(Object.keys(p.settings))}` : ''}</td>` +
      `<td>${p.enabled ? 'enabled' : '<strong>disabled</strong>'} ${toggle}` +
      `${caller.isAdmin ? limitsForm(csrf, p) : ''}</td></tr>`
    );
  });
  const columns = [
    'Plugin',
    'Consumes',
    { label: 'Produces', optional: true as const },
    'Output',
    { label: 'Image and limits', optional: true as const },
    'State',
  ];
  return layout(shell, 'Plugins', table(columns, rows, 'No plugins: run `npm run kat -- seed`.'));
}
