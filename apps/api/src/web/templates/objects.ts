import { ObjectChain, OBJECT_KEY_FIELDS, OBJECT_TYPES, ObjectType, StoredObject } from '@kat/domain';
import { Caller } from '../../auth/authenticated';
import { escape, shortId } from '../html';
import { layout, SignedInShell } from './layout';
import { badge, definitions, link, organizationPicker, table, when, withOrg } from './parts';

/** The page of the object of `type` with key `key`. */
export const objectHref = (caller: Caller, type: string, key: string) =>
  withOrg(caller, `/objects/${encodeURIComponent(type)}/${encodeURIComponent(key)}/`);
const taskLink = (caller: Caller, id: string | null) =>
  id
    ? `<a href="${escape(withOrg(caller, `/tasks/${id}/`))}">task ${shortId(id)}</a>`
    : '<span class="muted">deleted</span>';

/** An object's key, linked to its page when the organization has it (its type known); else as text. */
function keyLink(caller: Caller, key: string, typeOf: Record<string, ObjectType>): string {
  const type = typeOf[key];
  return type ? `<a href="${escape(objectHref(caller, type, key))}">${escape(type)} ${escape(key)}</a>` : escape(key);
}

/** Objects of a type, searched by key, in key order. */
export function objectListPage(
  shell: SignedInShell,
  choice: { type: ObjectType; q: string },
  objects: StoredObject[] | null,
  next: string | null,
  organizations: string[],
): string {
  const { caller } = shell;
  const options = OBJECT_TYPES.map((t) => `<option${t === choice.type ? ' selected' : ''}>${t}</option>`).join('');
  const organization =
    caller.isAdmin && caller.scope.organizationCode
      ? `<input type="hidden" name="organization" value="${escape(caller.scope.organizationCode)}">`
      : '';
  const form = `<form method="get" class="filters" role="search">${organization}
    <div><label for="type">type</label><select id="type" name="type">${options}</select></div>
    <div><label for="q">key contains</label><input id="q" name="q" value="${escape(choice.q)}"></div>
    <button>Search</button></form>`;
  if (objects === null)
    return layout(shell, 'Objects', `${organizationPicker(caller, organizations)}<p>Pick an organization.</p>`);
  const rows = objects.map(
    (o) =>
      `<tr><td>${link(objectHref(caller, o.object_type, o.primary_key), o.primary_key)}</td>` +
      `<td class="optional">${when(o.first_seen)}</td><td>${when(o.last_seen)}</td></tr>`,
  );
  const more = next
    ? `<p>${link(withOrg(caller, '/objects/', { type: choice.type, q: choice.q, after: next }), 'More →')}</p>`
    : '';
  const columns = [
    `Key (${OBJECT_KEY_FIELDS[choice.type].join(' | ')})`,
    { label: 'First seen', optional: true as const },
    'Last seen',
  ];
  return layout(
    shell,
    'Objects',
    `${organizationPicker(caller, organizations)}${form}${table(columns, rows, 'No objects.')}${more}`,
  );
}

/** One object: its fields, what produced it and from what, what consumed it and what that made, its findings. */
export function objectPage(shell: SignedInShell, object: StoredObject, chain: ObjectChain): string {
  const { caller } = shell;
  const { object_type: type, primary_key: key, first_seen, last_seen, ...fields } = object;
  const produced = chain.producedBy.map(
    (p) =>
      `<tr><td>${taskLink(caller, p.task_id)}</td><td>${escape(p.plugin_id)}</td>` +
      `<td>${p.status ? badge(p.status) : '—'}</td><td>${keyLink(caller, p.input_object, chain.typeOf)}</td></tr>`,
  );
  const consumed = chain.consumedBy.map(
    (c) =>
      `<tr><td>${taskLink(caller, c.id)}</td><td>${escape(c.plugin_id ?? '')}</td><td>${badge(c.status)}</td>` +
      `<td>${c.outputs.map((o) => keyLink(caller, o.key, { [o.key]: o.type })).join('<br>') || '—'}</td></tr>`,
  );
  const findings = chain.findings.map(
    (f) =>
      `<tr><td>${link(objectHref(caller, 'finding', f.primary_key), String(f.finding_type))}</td>` +
      `<td>${escape(String(f.evidence ?? ''))}</td></tr>`,
  );
  return layout(
    shell,
    `${type} ${key}`,
    `${definitions([
      ['Type', escape(type)],
      ['Key', escape(key)],
      ...Object.entries(fields).map(([name, value]): [string, string] => [
        escape(name),
        escape(typeof value === 'string' ? value : JSON.stringify(value)),
      ]),
      ['First seen', when(first_seen)],
      ['Last seen', when(last_seen)],
    ])}
    <h2>Produced by</h2>${table(['Task', 'Plugin', 'Status', 'From its input'], produced, 'No task produced it.')}
    <h2>Consumed by</h2>${table(['Task', 'Plugin', 'Status', 'What it produced'], consumed, 'No task took it.')}
    <h2>Findings</h2>${table(['Finding type', 'Evidence'], findings, 'No findings.')}
    <p><a href="${escape(withOrg(caller, '/objects/', { type }))}">All ${escape(type)} objects</a></p>`,
  );
}
