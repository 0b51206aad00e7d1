import { Caller } from '../../auth/authenticated';
import { DashboardResponse } from '../../dashboard/dashboard.dto';
import { escape } from '../html';
import { layout, SignedInShell } from './layout';
import { link, table, when, withOrg } from './parts';

/** How often the page fetches its panels again (dashboard.js), in ms. */
export const REFRESH_MS = 5000;

type Ended = 'COMPLETED' | 'FAILED';

const hour = (date: Date | string) => new Date(date).toISOString().slice(11, 16);
const seconds = (s: number | null) => (s === null ? '—' : `${s.toFixed(s < 10 ? 2 : 1)} s`);
const percent = (rate: number) => `${(100 * rate).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)} %`;
const cells = (values: Array<string | number>) => `<tr>${values.map((v) => `<td>${v}</td>`).join('')}</tr>`;
const section = (id: string, heading: string, body: string) =>
  `<section aria-labelledby="${id}-heading"><h2 id="${id}-heading">${heading}</h2>${body}</section>`;

/**
 * The landing page: what ran and failed each hour, what waits and runs now, how each plugin fares,
 * the most frequent errors. Rendered here; dashboard.js swaps in fresh panels every few seconds
 * (from /dashboard/panels), so the page updates without a reload, and reads fine without script.
 */
export function dashboardPage(shell: SignedInShell, data: DashboardResponse): string {
  const source = escape(withOrg(shell.caller, '/dashboard/panels'));
  return layout(
    shell,
    'Dashboard',
    `<div id="live" data-src="${source}" data-interval="${REFRESH_MS}">${dashboardPanels(shell.caller, data)}</div>
    <script src="/dashboard.js"></script>`,
  );
}

/** Every panel of the dashboard: the part the page replaces when it updates itself. */
export function dashboardPanels(caller: Caller, data: DashboardResponse): string {
  const waiting = data.queue.pending_by_priority.reduce((sum, p) => sum + p.pending, 0);
  const now = new Date();
  const tile = (id: string, value: number, text: string) =>
    `<p class="tile"><span class="big" id="${id}">${value}</span> ${text}</p>`;
  return `<p class="muted">Since ${when(data.since)} UTC · updated
    <time id="updated" datetime="${now.toISOString()}">${when(now)}</time> UTC</p>
  <div class="tiles">${tile('running', data.queue.running, 'running now')}${tile('waiting', waiting, 'waiting')}
    ${tile('completed', total(data, 'COMPLETED'), 'completed, 24 h')}
    ${tile('failed', total(data, 'FAILED'), 'failed, 24 h')}
  </div>
  ${section('hourly', 'Tasks per hour (by creation, UTC)', hourlyChart(data) + hourlyTable(data))}
  ${section('queue', 'Waiting now, by priority', queueTables(data, waiting))}
  ${section('plugins', 'Plugins, last 24 hours', pluginTable(caller, data))}
  ${section('errors', 'Most frequent errors, last 24 hours', errorTable(caller, data))}`;
}

function total(data: DashboardResponse, status: Ended): number {
  return data.hourly.reduce((sum, b) => sum + b[status], 0);
}

function hourlyTable(data: DashboardResponse): string {
  const rows = data.hourly.map((b) => cells([hour(b.start), b.COMPLETED, b.FAILED, b.PENDING, b.RUNNING, b.CANCELLED]));
  const columns = ['Hour', 'Completed', 'Failed', 'Pending', 'Running', 'Cancelled'];
  return `<details><summary>The same as a table</summary>${table(columns, rows, null)}</details>`;
}

function queueTables(data: DashboardResponse, waiting: number): string {
  const { pending_by_priority: byPriority, pending_by_organization: byOrganization } = data.queue;
  const priorities = byPriority.map(
    (p) =>
      `<tr><td>${p.priority}</td><td>${p.pending}</td>` +
      `<td class="optional">${meter(p.pending, waiting, `${p.pending} of ${waiting}`, 'share')}</td></tr>`,
  );
  const first = table(['Priority', 'Waiting', { label: 'Share', optional: true }], priorities, 'Nothing waits.');
  if (!byOrganization) return first;
  const organizations = byOrganization.map((o) =>
    cells([
      link(`/tasks/?organization=${encodeURIComponent(o.organization)}&status=PENDING`, o.organization),
      o.pending,
    ]),
  );
  return `${first}<h3>By organization</h3>${table(['Organization', 'Waiting'], organizations, 'Nothing waits.')}`;
}

function pluginTable(caller: Caller, data: DashboardResponse): string {
  const rows = data.plugins.map((p) =>
    cells([
      link(withOrg(caller, '/tasks/', { plugin_id: p.plugin_id }), p.plugin_id),
      p.ended,
      p.failed,
      `${meter(p.failed, p.ended, percent(p.failure_rate), 'failure')} ${percent(p.failure_rate)}`,
      seconds(p.p50_seconds),
      seconds(p.p95_seconds),
    ]),
  );
  const columns = ['Plugin', 'Ended', 'Failed', 'Failure rate', 'p50', 'p95'];
  return table(columns, rows, 'No plugin task ended in the last 24 hours.');
}

function errorTable(caller: Caller, data: DashboardResponse): string {
  const rows = data.errors.map((e) => {
    const failed = withOrg(caller, '/tasks/', { status: 'FAILED', ...(e.plugin_id && { plugin_id: e.plugin_id }) });
    return cells([e.count, escape(e.plugin_id ?? '—'), link(failed, e.error.slice(0, 300))]);
  });
  return table(['Count', 'Plugin', 'Error'], rows, 'No task failed in the last 24 hours.');
}

/** A bar of `part` out of `whole`; `label` is its text for screen readers. */
function meter(part: number, whole: number, label: string, kind: 'share' | 'failure'): string {
  const width = whole === 0 ? 0 : Math.round((100 * part) / whole);
  return `<svg class="meter" viewBox="0 0 100 10" width="100" height="10" role="img" aria-label="${escape(label)}">
    <rect class="meter-track" width="100" height="10"></rect>
    <rect class="meter-${kind}" width="${width}" height="10"></rect></svg>`;
}

/** Completed (below) and failed (stacked on top) tasks per hour as SVG bars, each bar's numbers in its title. */
function hourlyChart(data: DashboardResponse): string {
  const [width, height] = [24, 120];
  const top = Math.max(1, ...data.hourly.map((b) => b.COMPLETED + b.FAILED));
  const scale = (n: number) => (n / top) * height;
  const bars = data.hourly.map((b, i) => {
    const x = 40 + i * width;
    const [completed, failed] = [scale(b.COMPLETED), scale(b.FAILED)];
    const bar = (kind: string, y: number, h: number) =>
      `<rect class="bar-${kind}" x="${x}" y="${y}" width="${width - 4}" height="${h}"></rect>`;
    const tick = i % 6 === 0 ? `<text class="axis" x="${x}" y="${height + 28}">${hour(b.start)}</text>` : '';
    return `<g><title>${hour(b.start)} UTC: ${b.COMPLETED} completed, ${b.FAILED} failed</title>
      ${bar('completed', 10 + height - completed, completed)}
      ${bar('failed', 10 + height - completed - failed, failed)}${tick}</g>`;
  });
  const summary = `${total(data, 'COMPLETED')} completed, ${total(data, 'FAILED')} failed; at most ${top} in one hour`;
  return `<svg class="chart" viewBox="0 0 620 165" role="img" aria-labelledby="hourly-title hourly-desc">
    <title id="hourly-title">Tasks completed and failed per hour</title>
    <desc id="hourly-desc">Over 24 hours: ${summary}.</desc>
    <text class="axis" x="0" y="18">${top}</text><text class="axis" x="0" y="${height + 10}">0</text>
    <line class="axis-line" x1="38" y1="${height + 10}" x2="620" y2="${height + 10}"></line>
    ${bars.join('')}
    <rect class="bar-completed" x="420" y="150" width="10" height="10"></rect>
    <text class="axis" x="434" y="159">completed</text>
    <rect class="bar-failed" x="520" y="150" width="10" height="10"></rect>
    <text class="axis" x="534" y="159">failed</text>
  </svg>`;
}
