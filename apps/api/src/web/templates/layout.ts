import { Caller } from '../../auth/authenticated';
import { escape } from '../html';
import { QUEUE_DASHBOARD_PATH } from '../queue-dashboard';

/** What the shell of every page shows around its body. */
export interface Shell {
  /** Who is signed in; none on the sign-in page and on refusals before the session is known. */
  caller?: Caller;
  /** The session's CSRF token, which every form carries. */
  csrf?: string;
  /** What the last form did (`?notice=`). */
  notice?: string;
}

/** The shell of a page only a signed-in session reaches. */
export interface SignedInShell extends Shell {
  caller: Caller;
  csrf: string;
}

/** Organization-scoped pages keep an admin's chosen organization; the scheduler and the queues are global. */
const NAV: Array<{ label: string; path: string; scoped: boolean; admin?: true; tokenAdmin?: true }> = [
  { label: 'Dashboard', path: '/dashboard/', scoped: true },
  { label: 'Tasks', path: '/tasks/', scoped: true },
  { label: 'Objects', path: '/objects/', scoped: true },
  { label: 'Findings', path: '/findings/', scoped: true },
  { label: 'Plugins', path: '/plugins/', scoped: false },
  { label: 'Schedules', path: '/schedules/', scoped: true },
  { label: 'Reports', path: '/reports/', scoped: true },
  { label: 'Audit log', path: '/audit-log/', scoped: true },
  { label: 'Tokens', path: '/tokens/', scoped: true, tokenAdmin: true },
  { label: 'Pending tasks', path: '/admin/tasks/task/', scoped: true, admin: true },
  { label: 'Scheduler', path: '/scheduler/', scoped: false, admin: true },
  { label: 'Queues', path: QUEUE_DASHBOARD_PATH, scoped: false, admin: true },
];

/** A whole page: the header with the nav (when signed in), the title, the last form's notice, the body. */
export function layout(shell: Shell, title: string, body: string, options: { refresh?: boolean } = {}): string {
  const notice = shell.notice === undefined ? '' : `<p class="notice" role="status">${escape(shell.notice)}</p>`;
  const refresh = options.refresh ? '<meta http-equiv="refresh" content="5">' : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">${refresh}
<title>${escape(title)} · KAT</title><link rel="stylesheet" href="/web.css"></head>
<body><header><a href="/dashboard/"><strong>KAT</strong></a>${shell.caller ? nav(shell.caller, shell.csrf ?? '') : ''}
</header>
<main><h1>${escape(title)}</h1>${notice}${body}</main></body></html>`;
}

function nav(caller: Caller, csrf: string): string {
  const org = caller.scope.organizationCode;
  const orgQuery = caller.isAdmin && org ? `?organization=${encodeURIComponent(org)}` : '';
  const links = NAV.filter((link) => (!link.admin || caller.isAdmin) && (!link.tokenAdmin || caller.access === 'admin'))
    .map((link) => `<a href="${link.path}${link.scoped ? orgQuery : ''}">${link.label}</a>`)
    .join('');
  return `<nav aria-label="Main">${links}</nav>
    <span>${escape(org ?? 'all organizations')}${caller.isAdmin ? ' (admin)' : ''}</span>
    <form method="post" action="/sign-out"><input type="hidden" name="csrf" value="${csrf}">
    <button>Sign out</button></form>`;
}
