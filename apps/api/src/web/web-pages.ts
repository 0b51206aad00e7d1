import { HttpException, INestApplication } from '@nestjs/common';
import {
  OrganizationRepository, ReportRepository, SchedulerStateRepository, ScheduleRepository, TaskRepository, TaskStatus,
  TaskView,
} from '@kat/domain';
import { RUN_NOW, TaskIntake } from '@kat/queue';
import express, { NextFunction, Request, Response, Router } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Caller } from '../auth/authenticated';
import { TokenAuthenticator } from '../auth/token-authenticator';
import { ObjectsService } from '../objects/objects.service';
import { reportHtml } from '../reports/report-html';
import { COUNT_CAP } from '../common/pagination';
import { TasksService } from '../tasks/tasks.service';
import { escape, shortId, STYLESHEET } from './html';

export const SESSION_COOKIE = 'kat_session';
const PAGE_SIZE = 50;

type WebRequest = Request & { caller: Caller; session: string };

/** The CSRF token of a session: derived from the HttpOnly cookie, which another site cannot read. */
function csrfToken(session: string): string {
  return createHash('sha256').update(`kat-csrf:${session}`).digest('base64url');
}

export function readCookie(request: Request, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

const when = (date: Date | string | null) => (date ? new Date(date).toISOString().replace('T', ' ').slice(0, 19) : '—');
const duration = (t: TaskView) => (t.started_at && t.ended_at ? `${((new Date(t.ended_at).getTime() - new Date(t.started_at).getTime()) / 1000).toFixed(1)} s` : '—');
const badge = (status: string) => `<span class="badge ${escape(status)}">${escape(status)}</span>`;
const firstLine = (text: unknown) => String(text ?? '').split('\n')[0];
const what = (t: TaskView) => String(t.data.plugin_id ?? t.data.rule_id ?? t.data.report_type ?? '');

/**
 * The operators' pages, served by the api: server-rendered HTML, a small stylesheet, no script.
 * Signed in with an API token kept in an HttpOnly, SameSite=Strict cookie; every page is scoped
 * to the token's organization (admins pick one); every button is a form POST with a CSRF token.
 */
export function mountWebPages(app: INestApplication): void {
  const tokens = app.get(TokenAuthenticator);
  const tasks = app.get(TasksService);
  const taskRows = app.get(TaskRepository);
  const objects = app.get(ObjectsService);
  const schedules = app.get(ScheduleRepository);
  const scheduler = app.get(SchedulerStateRepository);
  const reports = app.get(ReportRepository);
  const intake = app.get(TaskIntake);
  const organizationRows = app.get(OrganizationRepository);

  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));
  router.get('/web.css', (_req, res) => void res.type('text/css').set('Cache-Control', 'max-age=3600').send(STYLESHEET));

  const page = (req: Request, res: Response, title: string, body: string, options: { refresh?: boolean; status?: number } = {}) => {
    const w = req as Partial<WebRequest>;
    const org = w.caller?.scope.organizationCode;
    const orgQuery = w.caller?.isAdmin && org ? `?organization=${encodeURIComponent(org)}` : '';
    const notice = typeof req.query.notice === 'string' ? `<p class="notice" role="status">${escape(req.query.notice)}</p>` : '';
    const nav = w.caller
      ? `<nav aria-label="Main"><a href="/tasks/${orgQuery}">Tasks</a><a href="/schedules/${orgQuery}">Schedules</a><a href="/reports/${orgQuery}">Reports</a>
         ${w.caller.isAdmin ? `<a href="/admin/tasks/task/${orgQuery}">Pending tasks</a><a href="/scheduler/">Scheduler</a><a href="/admin/queues">Queues</a>` : ''}</nav>
         <span>${escape(org ?? 'all organizations')}${w.caller.isAdmin ? ' (admin)' : ''}</span>
         <form method="post" action="/sign-out"><input type="hidden" name="csrf" value="${csrfToken(w.session!)}"><button>Sign out</button></form>`
      : '';
    res.status(options.status ?? 200).type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">${options.refresh ? '<meta http-equiv="refresh" content="5">' : ''}
<title>${escape(title)} · KAT</title><link rel="stylesheet" href="/web.css"></head>
<body><header><a href="/tasks/"><strong>KAT</strong></a>${nav}</header><main><h1>${escape(title)}</h1>${notice}${body}</main></body></html>`);
  };

  const form = (req: Request, action: string, label: string, primary = false) =>
    `<form class="inline" method="post" action="${escape(action)}"><input type="hidden" name="csrf" value="${csrfToken((req as WebRequest).session)}">
     <button${primary ? ' class="primary"' : ''}>${escape(label)}</button></form>`;

  // Sign-in and sign-out.
  router.get('/sign-in', (req, res) => page(req, res, 'Sign in', signInForm()));
  router.post('/sign-in', async (req, res) => {
    const token = String(req.body?.token ?? '').trim();
    const caller = token && !token.startsWith('katp_') ? await tokens.authenticate(token) : null;
    if (!caller) return page(req, res, 'Sign in', signInForm('That token is not valid.'), { status: 401 });
    res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
    res.redirect(303, '/tasks/');
  });
  const signInForm = (error?: string) => `${error ? `<p class="notice error" role="alert">${escape(error)}</p>` : ''}
    <form method="post" action="/sign-in"><p><label for="token">API token</label>
    <input id="token" name="token" type="password" autocomplete="off" required size="50"></p>
    <p class="muted">Make one with <code>npm run kat -- create-token --org &lt;code&gt;</code>.</p><button class="primary">Sign in</button></form>`;

  // Everything below needs a session; POSTs need its CSRF token.
  const signedIn = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const session = readCookie(req, SESSION_COOKIE);
      const caller = session ? await tokens.authenticate(session) : null;
      if (!caller || !session) return res.redirect(303, `/sign-in`);
      if (req.method === 'POST') {
        const given = Buffer.from(String(req.body?.csrf ?? ''));
        const expected = Buffer.from(csrfToken(session));
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          return page(req, res, 'Refused', '<p class="notice error" role="alert">The form was not sent from this site (CSRF check failed).</p>', { status: 403 });
        }
      }
      if (typeof req.query.organization === 'string' && req.query.organization !== '') caller.scope = await tokens.narrowScope(caller, req.query.organization);
      Object.assign(req, { caller, session });
      next();
    } catch (error) {
      next(error);
    }
  };
  const adminOnly = (req: Request, res: Response, next: NextFunction) =>
    (req as WebRequest).caller.isAdmin ? next() : page(req, res, 'Admins only', '<p class="notice error" role="alert">This page needs an admin token.</p>', { status: 403 });
  const withOrg = (req: Request, path: string, params: Record<string, string> = {}) => {
    const caller = (req as WebRequest).caller;
    const query = new URLSearchParams(params);
    if (caller.isAdmin && caller.scope.organizationCode) query.set('organization', caller.scope.organizationCode);
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  };
  /** An admin without an organization chosen picks one first. */
  const organizationPicker = async (req: Request) => {
    const caller = (req as WebRequest).caller;
    if (!caller.isAdmin) return '';
    const organizations = await organizationRows.list();
    return `<form method="get" class="filters"><div><label for="organization">Organization</label>
      <select id="organization" name="organization">${organizations.map((o) => `<option${o.code === caller.scope.organizationCode ? ' selected' : ''}>${escape(o.code)}</option>`).join('')}</select></div>
      <button>Show</button></form>`;
  };
  const act = (run: (req: WebRequest) => Promise<string>, back: (req: WebRequest) => string) => async (req: Request, res: Response) => {
    let notice: string;
    try {
      notice = await run(req as WebRequest);
    } catch (error) {
      const response = error instanceof HttpException ? (error.getResponse() as { message?: string[] | string }) : null;
      notice = `Not done: ${[response?.message ?? (error as Error).message].flat().join('; ')}`;
    }
    res.redirect(303, `${back(req as WebRequest)}${back(req as WebRequest).includes('?') ? '&' : '?'}notice=${encodeURIComponent(notice)}`);
  };

  router.post('/sign-out', signedIn, (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/sign-in');
  });

  router.get('/tasks/', signedIn, async (req, res, next) => {
    try {
      const caller = (req as WebRequest).caller;
      const filters = Object.fromEntries(['status', 'type', 'plugin_id', 'input_data', 'cursor'].map((k) => [k, typeof req.query[k] === 'string' && req.query[k] ? String(req.query[k]) : undefined]));
      const list = await tasks.list(caller.scope, { ...filters, limit: PAGE_SIZE } as never);
      const select = (name: string, options: string[]) => `<div><label for="${name}">${name.replace('_', ' ')}</label><select id="${name}" name="${name}"><option value="">any</option>
        ${options.map((o) => `<option${filters[name] === o ? ' selected' : ''}>${o}</option>`).join('')}</select></div>`;
      const rows = list.results.map((t) => `<tr><td>${escape(t.data.input_data ?? '—')}</td><td>${escape(t.type)}: ${escape(what(t))}</td><td>${badge(t.status)}</td>
        <td class="optional">${when(t.created_at)}</td><td class="optional">${duration(t)}</td><td>${escape(firstLine(t.data.error))}</td>
        <td><a href="${withOrg(req, `/tasks/${t.id}/`)}" aria-label="Task ${shortId(t.id)} details">details</a></td></tr>`).join('');
      const next_ = list.next_cursor ? `<p><a href="${withOrg(req, '/tasks/', { ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) as Record<string, string>, cursor: list.next_cursor })}">Older tasks →</a></p>` : '';
      const active = list.results.some((t) => t.status === TaskStatus.PENDING || t.status === TaskStatus.RUNNING);
      page(req, res, 'Tasks', `${await organizationPicker(req)}
        <form method="get" class="filters">${caller.isAdmin && caller.scope.organizationCode ? `<input type="hidden" name="organization" value="${escape(caller.scope.organizationCode)}">` : ''}
        ${select('status', Object.values(TaskStatus))}${select('type', ['plugin', 'business_rule', 'report'])}
        <div><label for="plugin_id">plugin</label><input id="plugin_id" name="plugin_id" value="${escape(filters.plugin_id ?? '')}"></div>
        <div><label for="input_data">input</label><input id="input_data" name="input_data" value="${escape(filters.input_data ?? '')}"></div>
        <button>Filter</button></form>
        <p class="muted">${list.count}${list.count >= COUNT_CAP ? '+' : ''} task(s)${active ? ' · refreshing every 5 s while tasks are pending or running' : ''}</p>
        <div class="table-wrap"><table><caption class="muted">Newest first</caption><thead><tr><th scope="col">Input</th><th scope="col">Plugin / rule / report</th><th scope="col">Status</th>
        <th scope="col" class="optional">Created</th><th scope="col" class="optional">Duration</th><th scope="col">Error</th><th scope="col"><span class="muted">Link</span></th></tr></thead>
        <tbody>${rows || '<tr><td colspan="7">No tasks.</td></tr>'}</tbody></table></div>${next_}`, { refresh: active });
    } catch (error) {
      next(error);
    }
  });

  router.get('/tasks/:id/', signedIn, async (req, res, next) => {
    try {
      const caller = (req as WebRequest).caller;
      const id = String(req.params.id);
      const task = await tasks.get(caller.scope, id);
      const logs = (await taskRows.findLog(task.id)) ?? { stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false };
      const produced = await objects.objectTasks(caller.scope, { task_id: id, limit: '500' });
      const buttons = [
        task.status === TaskStatus.PENDING && form(req, withOrg(req, `/tasks/${id}/run`), 'Run task', true),
        (task.status === TaskStatus.FAILED || task.status === TaskStatus.CANCELLED) && form(req, withOrg(req, `/tasks/${id}/retry`), 'Retry', true),
        (task.status === TaskStatus.PENDING || task.status === TaskStatus.RUNNING) && form(req, withOrg(req, `/tasks/${id}/cancel`), 'Cancel'),
      ].filter(Boolean).join(' ');
      const objectRows = produced.results.map((o) => `<tr><td>${escape(o.output_type)}</td>
        <td><a href="/api/v1/objects/${escape(o.output_type)}/${encodeURIComponent(o.output_object)}/${caller.isAdmin ? `?organization=${escape(caller.scope.organizationCode)}` : ''}">${escape(o.output_object)}</a></td></tr>`).join('');
      const { error, traceback, ...data } = task.data;
      page(req, res, `Task ${shortId(id)}`, `<p>${badge(task.status)} ${buttons}</p>
        <dl><dt>Id</dt><dd>${escape(task.id)}</dd><dt>Organization</dt><dd>${escape(task.organization)}</dd><dt>Type</dt><dd>${escape(task.type)}</dd>
        <dt>Created</dt><dd>${when(task.created_at)}</dd><dt>Started</dt><dd>${when(task.started_at)}</dd><dt>Ended</dt><dd>${when(task.ended_at)}</dd>
        <dt>Duration</dt><dd>${duration(task)}</dd><dt>Attempts</dt><dd>${task.attempts}</dd>
        <dt>Schedule</dt><dd>${task.schedule_id ? `<a href="${withOrg(req, '/schedules/')}">${escape(task.schedule_id)}</a>` : '—'}</dd>
        <dt>Parent task</dt><dd>${task.parent_task_id ? `<a href="${withOrg(req, `/tasks/${task.parent_task_id}/`)}">${escape(task.parent_task_id)}</a>` : '—'}</dd></dl>
        <h2>Data</h2><pre>${escape(JSON.stringify(data, null, 2))}</pre>
        ${error ? `<h2>Error</h2><p class="notice error" role="alert">${escape(error)}</p><h3>Traceback</h3><pre>${escape(traceback ?? '')}</pre>` : ''}
        <h2>Output</h2><h3>stdout${logs.stdout_truncated ? ' (cut at the cap)' : ''}</h3><pre>${escape(logs.stdout) || '<span class="muted">(empty)</span>'}</pre>
        <h3>stderr${logs.stderr_truncated ? ' (cut at the cap)' : ''}</h3><pre>${escape(logs.stderr) || '<span class="muted">(empty)</span>'}</pre>
        <h2>Objects it produced</h2><div class="table-wrap"><table><thead><tr><th scope="col">Type</th><th scope="col">Object</th></tr></thead>
        <tbody>${objectRows || '<tr><td colspan="2">None.</td></tr>'}</tbody></table></div>`,
      { refresh: task.status === TaskStatus.PENDING || task.status === TaskStatus.RUNNING });
    } catch (error) {
      next(error);
    }
  });

  const taskPage = (req: WebRequest) => withOrg(req, `/tasks/${req.params.id}/`);
  router.post('/tasks/:id/run', signedIn, act(async (req) => (await tasks.run(req.caller.scope, String(req.params.id)), 'Queued: a worker runs it next.'), taskPage));
  router.post('/tasks/:id/retry', signedIn, act(async (req) => (await tasks.retry(req.caller.scope, String(req.params.id)), 'Retrying: the task is PENDING again.'), taskPage));
  router.post('/tasks/:id/cancel', signedIn, act(async (req) => (await tasks.cancel(req.caller.scope, String(req.params.id)), 'Cancelled.'), taskPage));

  // OpenKAT's operators look here for tasks waiting to run.
  router.get('/admin/tasks/task/', signedIn, adminOnly, async (req, res, next) => {
    try {
      const pending = await taskRows.list((req as WebRequest).caller.scope, { status: TaskStatus.PENDING }, 200);
      const rows = pending.map((t) => `<tr><td>${escape(t.organization)}</td><td>${escape(t.data.input_data ?? '—')}</td><td>${escape(what(t))}</td><td>${when(t.created_at)}</td>
        <td><a href="/tasks/${t.id}/?organization=${escape(t.organization)}">details</a></td>
        <td>${form(req, `/admin/tasks/task/${t.id}/run?organization=${encodeURIComponent(t.organization)}`, 'Run task', true)}</td></tr>`).join('');
      page(req, res, 'Pending tasks', `<div class="table-wrap"><table><thead><tr><th scope="col">Organization</th><th scope="col">Input</th><th scope="col">Plugin / rule / report</th>
        <th scope="col">Created</th><th scope="col">Details</th><th scope="col">Action</th></tr></thead><tbody>${rows || '<tr><td colspan="6">Nothing is waiting.</td></tr>'}</tbody></table></div>`);
    } catch (error) {
      next(error);
    }
  });
  router.post('/admin/tasks/task/:id/run', signedIn, adminOnly, act(async (req) => (await tasks.run(req.caller.scope, String(req.params.id)), `Task ${shortId(String(req.params.id))} queued.`), () => '/admin/tasks/task/'));

  router.get('/schedules/', signedIn, async (req, res, next) => {
    try {
      const caller = (req as WebRequest).caller;
      if (caller.scope.organizationId === null) return page(req, res, 'Schedules', await organizationPicker(req));
      const rows = (await schedules.listInOrganization(caller.scope.organizationId)).map((s) => `<tr>
        <td>${escape(s.plugin_id)}</td><td>${escape(s.object_set_id)}</td><td>${s.interval_seconds} s</td><td>${s.enabled ? 'enabled' : 'disabled'}</td><td>${when(s.last_run_at)}</td>
        <td>${form(req, withOrg(req, `/schedules/${s.id}/toggle`), s.enabled ? 'Disable' : 'Enable')} ${form(req, withOrg(req, `/schedules/${s.id}/run`), 'Run now', true)}</td></tr>`).join('');
      page(req, res, 'Schedules', `${await organizationPicker(req)}<div class="table-wrap"><table><thead><tr><th scope="col">Plugin</th><th scope="col">Object set</th>
        <th scope="col">Interval</th><th scope="col">State</th><th scope="col">Last run</th><th scope="col">Actions</th></tr></thead>
        <tbody>${rows || '<tr><td colspan="6">No schedules.</td></tr>'}</tbody></table></div>`);
    } catch (error) {
      next(error);
    }
  });
  const ownSchedule = async (req: WebRequest) => {
    const schedule = await schedules.findInOrganization(req.caller.scope.organizationId ?? -1, String(req.params.id));
    if (!schedule) throw new Error('no such schedule');
    return schedule;
  };
  router.post('/schedules/:id/toggle', signedIn, act(async (req) => {
    const schedule = await ownSchedule(req);
    await schedules.update(schedule.id, { enabled: !schedule.enabled });
    return `Schedule ${schedule.enabled ? 'disabled' : 'enabled'}.`;
  }, (req) => withOrg(req, '/schedules/')));
  router.post('/schedules/:id/run', signedIn, act(async (req) => {
    const { tasks: created } = await intake.submitScheduled((await ownSchedule(req)).id, RUN_NOW);
    return `${created.length} task(s) created.`;
  }, (req) => withOrg(req, '/schedules/')));

  router.get('/scheduler/', signedIn, adminOnly, async (req, res, next) => {
    try {
      const enabled = await scheduler.globalEnabled();
      const rows = (await scheduler.jobs()).map((j) => `<tr><td>${escape(j.name)}</td><td><code>${escape(j.cron)}</code></td><td>${j.enabled ? 'enabled' : 'disabled'}</td>
        <td>${when(j.last_run_at)}</td><td>${j.last_duration_ms ?? '—'} ms</td><td><code>${escape(JSON.stringify(j.last_result ?? {}))}</code></td><td>${when(j.next_run_at)}</td>
        <td>${form(req, `/scheduler/jobs/${encodeURIComponent(j.name)}/toggle`, j.enabled ? 'Disable' : 'Enable')}</td></tr>`).join('');
      page(req, res, 'Scheduler', `<p>The scheduler is <strong>${enabled ? 'enabled' : 'disabled'}</strong>. ${form(req, '/scheduler/toggle', enabled ? 'Disable the scheduler' : 'Enable the scheduler', true)}</p>
        <div class="table-wrap"><table><thead><tr><th scope="col">Job</th><th scope="col">Cron</th><th scope="col">State</th><th scope="col">Last run</th><th scope="col">Took</th>
        <th scope="col">Result</th><th scope="col">Next run</th><th scope="col">Action</th></tr></thead><tbody>${rows}</tbody></table></div>`);
    } catch (error) {
      next(error);
    }
  });
  router.post('/scheduler/toggle', signedIn, adminOnly, act(async () => {
    const enabled = !(await scheduler.globalEnabled());
    await scheduler.setGlobalEnabled(enabled);
    return `Scheduler ${enabled ? 'enabled' : 'disabled'}.`;
  }, () => '/scheduler/'));
  router.post('/scheduler/jobs/:name/toggle', signedIn, adminOnly, act(async (req) => {
    const job = await scheduler.job(String(req.params.name));
    if (!job) throw new Error('no such job');
    await scheduler.updateJob(job.name, { enabled: !job.enabled });
    return `${job.name} ${job.enabled ? 'disabled' : 'enabled'}.`;
  }, () => '/scheduler/'));

  router.get('/reports/', signedIn, async (req, res, next) => {
    try {
      const caller = (req as WebRequest).caller;
      if (caller.scope.organizationId === null) return page(req, res, 'Reports', await organizationPicker(req));
      const rows = (await reports.list(caller.scope.organizationId, 100)).map((r) => `<tr><td><a href="${withOrg(req, `/reports/${r.id}/`)}">${escape(r.report_type)}</a></td>
        <td>${when(r.created_at)}</td><td>${escape(r.object_set_id ?? 'whole organization')}</td></tr>`).join('');
      page(req, res, 'Reports', `${await organizationPicker(req)}<div class="table-wrap"><table><thead><tr><th scope="col">Report</th><th scope="col">Created</th><th scope="col">Scope</th></tr></thead>
        <tbody>${rows || '<tr><td colspan="3">No reports yet: create a report task.</td></tr>'}</tbody></table></div>`);
    } catch (error) {
      next(error);
    }
  });
  router.get('/reports/:id/', signedIn, async (req, res, next) => {
    try {
      const caller = (req as WebRequest).caller;
      const report = caller.scope.organizationId === null ? null : await reports.get(caller.scope.organizationId, String(req.params.id));
      if (!report) return page(req, res, 'Not found', '<p>No such report.</p>', { status: 404 });
      res.type('html').set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'").send(reportHtml(report));
    } catch (error) {
      next(error);
    }
  });

  router.get('/', (_req, res) => res.redirect(302, '/tasks/'));
  // A page's error: a readable page with the message, not a stack.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = error instanceof HttpException ? error.getStatus() : 500;
    const message = error instanceof HttpException ? [(error.getResponse() as { message?: string | string[] }).message].flat().join('; ') : 'Something went wrong.';
    page(req, res, status === 404 ? 'Not found' : 'Error', `<p class="notice error" role="alert">${escape(message)}</p>`, { status });
  });

  app.use(router);
}
