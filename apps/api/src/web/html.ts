/** Escapes text for HTML content and attribute values. */
export function escape(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export const STYLESHEET = `
:root { --fg: #1a1a1a; --muted: #5a5a5a; --line: #d8d8d8; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; color: var(--fg); margin: 0; line-height: 1.45; }
header { background: #12263f; color: #fff; padding: .6rem 1rem; display: flex; flex-wrap: wrap; gap: 1rem;
  align-items: center; }
header a { color: #fff; text-decoration: none; }
header nav { display: flex; flex-wrap: wrap; gap: .9rem; flex: 1; }
header form { margin: 0; }
main { padding: 1rem; max-width: 75rem; margin: 0 auto; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.table-wrap { overflow-x: auto; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: .3rem; font-size: .8rem; font-weight: 600;
  color: #fff; }
.PENDING { background: #6b7280; } .RUNNING { background: #0b5cad; } .COMPLETED { background: #1b7f3b; }
.FAILED { background: #b42318; } .CANCELLED { background: #8a6d00; }
.notice { border-left: 4px solid var(--accent); background: #eef5fc; padding: .5rem .8rem; margin: .5rem 0 1rem; }
.error { border-left-color: #b42318; background: #fdecea; }
pre { background: #f5f5f5; padding: .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word;
  max-height: 30rem; }
form.inline { display: inline; }
button { font: inherit; padding: .3rem .8rem; border: 1px solid #888; border-radius: .3rem; background: #fff;
  cursor: pointer; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
label { font-weight: 600; margin-right: .3rem; }
.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin: .5rem 0 1rem; }
.filters div { display: flex; flex-direction: column; }
input, select { font: inherit; padding: .25rem .4rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
dt { font-weight: 600; }
.muted { color: var(--muted); }
@media (max-width: 40rem) { th.optional, td.optional { display: none; } }
.tiles { display: flex; flex-wrap: wrap; gap: 1rem; margin: .5rem 0 1rem; }
.tile { border: 1px solid var(--line); border-radius: .4rem; padding: .5rem 1rem; margin: 0; min-width: 10rem; }
.big { display: block; font-size: 1.8rem; font-weight: 700; }
svg.chart { width: 100%; max-width: 48rem; height: auto; }
.bar-completed { fill: #1b7f3b; } .bar-failed { fill: #b42318; }
.axis { fill: var(--muted); font-size: 11px; } .axis-line { stroke: var(--line); }
.meter { vertical-align: middle; } .meter-track { fill: #eee; } .meter-share { fill: var(--accent); }
.meter-failure { fill: #b42318; }
details { margin: .5rem 0 1rem; }
.severity { font-weight: 700; } .severity.critical, .severity.high { color: #b42318; }
.severity.medium { color: #8a4b00; }
`;

/**
 * A task's id short enough to read: its last 8 hex digits. Ids are UUIDv7, whose first digits are
 * the creation time and so the same for every task of the same minute; the last ones are random.
 */
export function shortId(id: string): string {
  return id.slice(-8);
}
