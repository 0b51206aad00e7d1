import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { QUEUE_DASHBOARD_PATH } from '../web/queue-dashboard';

/** Third-party UIs we serve (Swagger UI, Bull Board) run inline scripts: they get no CSP of ours. */
const THIRD_PARTY_UIS = ['/api/docs', QUEUE_DASHBOARD_PATH];

const ours = helmet({
  // The pages load only their own stylesheet: no script, no inline style, no frame may hold them.
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      'default-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
    },
  },
  referrerPolicy: { policy: 'same-origin' },
});
const thirdParty = helmet({ contentSecurityPolicy: false, referrerPolicy: { policy: 'same-origin' } });

/**
 * The headers a scanner's own UI should send, from helmet: a strict Content-Security-Policy with
 * frame-ancestors 'none', nosniff, Referrer-Policy same-origin, and the rest of helmet's defaults.
 */
export function securityHeaders(request: Request, response: Response, next: NextFunction): void {
  const headers = THIRD_PARTY_UIS.some((path) => request.path.startsWith(path)) ? thirdParty : ours;
  headers(request, response, next);
}
