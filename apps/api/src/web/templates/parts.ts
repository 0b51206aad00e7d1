import { TaskView } from '@kat/domain';
import { Caller } from '../../auth/authenticated';
import { escape } from '../html';

// Pieces the pages share: formats, the status badge, tables, one-button forms, the organization picker, links.

export const when = (date: Date | string | null) =>
  date ? new Date(date).toISOString().replace('T', ' ').slice(0, 19) : '—';

export const duration = (t: TaskView) =>
  t.started_at && t.ended_at
    ? `${((new Date(t.ended_at).getTime() - new Date(t.started_at).getTime()) / 1000).toFixed(1)} s`
    : '—';

/** A link: its address and text, both escaped. */
export const link = (href: string, text: string) => `<a href="${escape(href)}">${escape(text)}</a>`;

export const badge = (status: string) => `<span class="badge ${escape(status)}">${escape(status)}</span>`;

/** Why a PENDING task has not started yet, in words; empty for any other task. */
export function waitingFor(t: TaskView): string {
  switch (t.waiting_for) {
    case 'worker':
      return 'on the queue: the next free worker runs it';
    case 'run_after':
      return `a retry's back-off, until ${when(t.run_after)}`;
    case 'rate_limit':
      return `its rate limit: key ${escape(t.rate_key ?? '')} has no room now`;
    case 'turn':
      return 'its turn: higher priorities and other organizations go first';
    default:
      return '';
  }
}

export const firstLine = (text: unknown) => String(text ?? '').split('\n')[0];

/** The plugin, rule or report type a task runs. */
export const what = (t: TaskView) => String(t.data.plugin_id ?? t.data.rule_id ?? t.data.report_type ?? '');

/** A column heading: its HTML, and whether narrow screens hide the column. */
export type Column = string | { label: string; optional: true };

/**
 * A table that scrolls sideways on narrow screens. `empty`: what its one row says when `rows` is
 * empty (null: never empty).
 */
export function table(columns: Column[], rows: string[], empty: string | null, caption = ''): string {
  const headings = columns
    .map((c) =>
      typeof c === 'string' ? `<th scope="col">${c}</th>` : `<th scope="col" class="optional">${c.label}</th>`,
    )
    .join('');
  const body = rows.join('') || (empty === null ? '' : `<tr><td colspan="${columns.length}">${empty}</td></tr>`);
  // Focusable, so a keyboard can scroll a table wider than the screen.
  return `<div class="table-wrap" tabindex="0" role="group" aria-label="Table (scrolls sideways)">
    <table>${caption}<thead><tr>${headings}</tr></thead>
    <tbody>${body}</tbody></table></div>`;
}

/** Terms and their descriptions (HTML), as a definition list. */
export const definitions = (pairs: Array<[string, string]>) =>
  `<dl>${pairs.map(([term, description]) => `<dt>${term}</dt><dd>${description}</dd>`).join('')}</dl>`;

/** A form of one button: a POST to `action` carrying the session's CSRF token. */
export const actionButton = (csrf: string, action: string, label: string, primary = false) =>
  `<form class="inline" method="post" action="${escape(action)}"><input type="hidden" name="csrf" value="${csrf}">
     <button${primary ? ' class="primary"' : ''}>${escape(label)}</button></form>`;

/** An admin picks the organization a page shows; other tokens have theirs. `codes`: every organization's. */
export function organizationPicker(caller: Caller, codes: string[]): string {
  if (!caller.isAdmin) return '';
  const options = codes.map(
    (code) => `<option${code === caller.scope.organizationCode ? ' selected' : ''}>${escape(code)}</option>`,
  );
  return `<form method="get" class="filters"><div><label for="organization">Organization</label>
      <select id="organization" name="organization">${options.join('')}</select></div>
      <button>Show</button></form>`;
}

/** A page's URL with `params`, keeping the organization an admin chose. */
export function withOrg(caller: Caller, path: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params);
  if (caller.isAdmin && caller.scope.organizationCode) query.set('organization', caller.scope.organizationCode);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
