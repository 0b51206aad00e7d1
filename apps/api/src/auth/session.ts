import type { Request } from 'express';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The web pages' session: a random id in an HttpOnly, SameSite=Strict cookie; the server keeps its
 * hash and the token it stands for (WebSessionRepository). The cookie never holds the token.
 */
export const SESSION_COOKIE = 'kat_session';
/** How long a session lasts from sign-in (less if its token expires or is revoked first). */
export const SESSION_SECONDS = 12 * 3600;
/**
 * The sign-in form's own CSRF secret, in a cookie of its own path: a sign-in must come from our
 * form, or another site could sign a browser in as the attacker (login CSRF).
 */
export const SIGN_IN_COOKIE = 'kat_sign_in';

export function readCookie(request: Request, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(value.join('='));
      } catch {
        return undefined; // a malformed cookie is no cookie
      }
    }
  }
  return undefined;
}

/** A new session id or sign-in secret: 32 random bytes. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What the server stores of a session id. */
export function sessionHash(sessionId: string): string {
  return createHash('sha256').update(`kat-session:${sessionId}`).digest('hex');
}

/** The CSRF token of a session: derived from the HttpOnly cookie, which another site cannot read. */
export function csrfToken(sessionId: string): string {
  return createHash('sha256').update(`kat-csrf:${sessionId}`).digest('base64url');
}

/** Compares a secret sent with the expected one in constant time. */
export function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
