import { TOKEN_ACCESS, TokenView } from '@kat/domain';
import { escape } from '../html';
import { layout, SignedInShell } from './layout';
import { actionButton, organizationPicker, table, when, withOrg } from './parts';

/**
 * The organization's tokens with a Revoke button each, and the form for a new one; `tokens` null:
 * an admin has not chosen an organization yet. `issued`: the secret of the token just made, shown once.
 */
export function tokensPage(
  shell: SignedInShell,
  tokens: TokenView[] | null,
  organizations: string[],
  issued?: TokenView & { token: string },
): string {
  const { caller, csrf } = shell;
  const picker = organizationPicker(caller, organizations);
  if (tokens === null) return layout(shell, 'API tokens', picker);
  const secret = issued
    ? `<div class="notice" role="status"><p>Token ${issued.id} (${escape(issued.name)}) is made. Copy its secret now:
       it is not shown again.</p><p><code>${escape(issued.token)}</code></p></div>`
    : '';
  const revoke = (id: number) => actionButton(csrf, withOrg(caller, `/tokens/${id}/revoke`), 'Revoke');
  const rows = tokens.map(
    (t) => `<tr><td>${t.id}</td><td>${escape(t.name)}</td><td>${escape(t.access)}</td><td>${escape(t.status)}</td>
    <td>${when(t.expires_at)}</td><td>${when(t.last_used_at)}</td><td>${when(t.created_at)}</td>
    <td>${t.status === 'revoked' ? '' : revoke(t.id)}</td></tr>`,
  );
  const columns = ['Id', 'Name', 'Access', 'Status', 'Expires', 'Last used', 'Created', ''];
  const access = TOKEN_ACCESS.map((a) => `<option${a === 'write' ? ' selected' : ''}>${a}</option>`).join('');
  const form = `<h2>New token</h2>
    <form method="post" action="${escape(withOrg(caller, '/tokens/'))}" class="filters">
    <input type="hidden" name="csrf" value="${csrf}">
    <div><label for="name">Name</label><input id="name" name="name" required maxlength="100"></div>
    <div><label for="access">Access</label><select id="access" name="access">${access}</select></div>
    <div><label for="expires_at">Expires (empty: never)</label>
    <input id="expires_at" name="expires_at" type="date"></div>
    <button class="primary">Make token</button></form>`;
  return layout(shell, 'API tokens', `${picker}${secret}${table(columns, rows, 'No tokens.')}${form}`);
}
