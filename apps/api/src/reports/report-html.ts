import { SEVERITIES, StoredReport } from '@kat/domain';
import { escape } from '../web/html';

const COLOURS: Record<string, string> = {
  critical: '#7b1fa2',
  high: '#c62828',
  medium: '#ef6c00',
  low: '#f9a825',
  recommendation: '#1565c0',
};

/** A bar chart of findings by severity as inline SVG: no script, no network. */
function severityChart(bySeverity: Record<string, number>): string {
  const max = Math.max(1, ...Object.values(bySeverity));
  const bars = SEVERITIES.map((severity, i) => {
    const count = bySeverity[severity] ?? 0;
    const width = Math.round((count / max) * 360);
    const y = i * 34;
    return `<text x="0" y="${y + 21}" font-size="14">${severity}</text>
      <rect x="130" y="${y + 6}" width="${width}" height="22"
        fill="${COLOURS[severity]}"><title>${severity}: ${count}</title></rect>
      <text x="${138 + width}" y="${y + 22}" font-size="14">${count}</text>`;
  }).join('');
  return `<svg role="img" aria-label="Findings by severity" width="560" height="${SEVERITIES.length * 34}" xmlns="http://www.w3.org/2000/svg">${bars}</svg>`;
}

/** The report as one self-contained HTML page a person can read and print. */
export function reportHtml(report: StoredReport): string {
  const d = report.data;
  const scope = d.scope.object_set
    ? `object set “${escape(d.scope.object_set.name)}” (${escape(d.scope.object_set.object_type)})`
    : 'the whole organization';
  const types = d.by_finding_type
    .map(
      (t) => `
    <tr><td><span class="badge" style="background:${COLOURS[t.severity]}">${escape(t.severity)}</span></td>
      <td><strong>${escape(t.code)}</strong><br>${escape(t.name)}</td><td class="n">${t.count}</td>
      <td class="n">${t.affected_objects}</td>
      <td class="n">${(t.share_of_objects * 100).toFixed(1)}% of ${t.objects_of_type} ${escape(t.ooi_type)}</td></tr>`,
    )
    .join('');
  const recommendations = d.by_finding_type
    .map((t) => `<li><strong>${escape(t.name)}</strong> (${escape(t.code)}): ${escape(t.recommendation)}</li>`)
    .join('');
  const top = d.top_objects
    .map(
      (o) =>
        `<tr><td>${escape(o.ooi_type)}</td><td>${escape(o.ooi)}</td><td class="n">${o.findings}</td>` +
        `<td>${o.finding_types.map(escape).join(', ')}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Findings summary — ${escape(report.organization)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1a1a1a;
    line-height: 1.45; }
  table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
  th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  td.n { text-align: right; white-space: nowrap; }
  .badge { color: #fff; padding: .1rem .45rem; border-radius: .3rem; font-size: .85rem; }
  .meta { color: #555; }
  @media print { body { margin: 0; max-width: none; } a { color: inherit; } }
</style></head>
<body>
<h1>Findings summary</h1>
<p class="meta">Organization <strong>${escape(report.organization)}</strong>
· scope: ${scope}, ${d.scope.objects} objects ·
generated ${escape(new Date(report.created_at).toISOString())} · report ${escape(report.id)}</p>
<h2>${d.total_findings} finding${d.total_findings === 1 ? '' : 's'} by severity</h2>
${severityChart(d.by_severity)}
<h2>By finding type</h2>
<table><thead><tr><th scope="col">Severity</th><th scope="col">Finding</th><th scope="col">Findings</th>
<th scope="col">Objects</th><th scope="col">Share</th></tr></thead>
<tbody>${types || '<tr><td colspan="5">No findings.</td></tr>'}</tbody></table>
<h2>Objects with the most findings</h2>
<table><thead><tr><th scope="col">Type</th><th scope="col">Object</th><th scope="col">Findings</th>
<th scope="col">Finding types</th></tr></thead>
<tbody>${top || '<tr><td colspan="4">No findings.</td></tr>'}</tbody></table>
<h2>Recommendations</h2>
<ul>${recommendations || '<li>Nothing to do.</li>'}</ul>
</body></html>`;
}
