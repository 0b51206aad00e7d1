import { escape } from '../html';
import { layout, Shell } from './layout';

/** The sign-in form; `secret`: its anti-CSRF field; `error`: why the last try was refused. */
export function signInPage(shell: Shell, secret: string, error?: string): string {
  return layout(
    shell,
    'Sign in',
    `${error ? `<p class="notice error" role="alert">${escape(error)}</p>` : ''}
    <form method="post" action="/sign-in"><input type="hidden" name="sign_in" value="${escape(secret)}">
    <p><label for="token">API token</label>
    <input id="token" name="token" type="password" autocomplete="off" required size="50"></p>
    <p class="muted">Make one with <code>npm run kat -- create-token --org &lt;code&gt;</code>.</p>
    <button class="primary">Sign in</button></form>`,
  );
}
