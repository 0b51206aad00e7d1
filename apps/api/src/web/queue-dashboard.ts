import { INestApplication } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { AuditLogRepository, TaskType } from '@kat/domain';
import { TASK_QUEUES, TaskDispatcher } from '@kat/queue';
import { NextFunction, Request, Response } from 'express';
import { readCookie, SESSION_COOKIE, sessionHash } from '../auth/session';
import { TokenAuthenticator } from '../auth/token-authenticator';
import { refusal, SAFE_METHODS } from '../auth/authenticated';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board for every task queue, for admin tokens only (Bearer header or the pages' session);
 * its changes need write access and are recorded in the audit log.
 */
export function mountQueueDashboard(app: INestApplication): void {
  const dispatcher = app.get(TaskDispatcher);
  const tokens = app.get(TokenAuthenticator);
  const audit = app.get(AuditLogRepository);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: (Object.keys(TASK_QUEUES) as TaskType[]).map((type) => new BullAdapter(dispatcher.queueFor(type))),
    serverAdapter,
  });
  const adminOnly = async (req: Request, res: Response, next: NextFunction) => {
    const bearer = /^(?:Bearer|Token)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const session = readCookie(req, SESSION_COOKIE);
    const caller = bearer
      ? await tokens.authenticate(bearer).catch(() => null)
      : session
        ? await tokens.fromSession(sessionHash(session))
        : null;
    if (!caller)
      return res.status(401).json({ statusCode: 401, error: 'Unauthorized', message: ['sign in with an admin token'] });
    // Admins only; a read-only admin token may look but not pause, clean, retry or add jobs.
    const refused = refusal(caller, req.method, { adminOnly: true, tokenAdmin: false });
    if (refused) return res.status(403).json({ statusCode: 403, error: 'Forbidden', message: [refused] });
    if (!SAFE_METHODS.has(req.method)) {
      // The dashboard's own buttons change the queues: each is an operator action like any other.
      await audit.record({
        organization_code: null,
        actor_token_id: caller.tokenId,
        actor: `token ${caller.tokenId} (${caller.tokenName})`,
        via: bearer ? 'api' : 'web',
        action: 'queue.change',
        target_type: 'queue',
        target_id: req.path,
        changes: { method: req.method },
      });
    }
    next();
  };
  app.use(QUEUE_DASHBOARD_PATH, adminOnly, serverAdapter.getRouter());
}
