import type { Request } from 'express';
import { createHash } from 'node:crypto';

/** The web pages' session: the API token itself, in an HttpOnly, SameSite=Strict cookie. */
export const SESSION_COOKIE = 'kat_session';

export function readCookie(request: Request, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** The CSRF token of a session: derived from the HttpOnly cookie, which another site cannot read. */
export function csrfToken(session: string): string {
  return createHash('sha256').update(`kat-csrf:${session}`).digest('base64url');
}
