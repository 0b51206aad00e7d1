import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { ADMIN_ONLY, Caller, Public } from './authenticated';
import { csrfToken, readCookie, SESSION_COOKIE } from './session';
import { TokenAuthenticator } from './token-authenticator';

/** A request to a web page; the SessionGuard sets its caller and its session's CSRF token. */
export type SessionRequest = Request & { caller?: Caller; csrf?: string };

/** No session cookie, or one whose token does not exist (any more): the pages send the browser to sign in. */
export class SignInRequired extends UnauthorizedException {}

/** A form POST without its session's CSRF token. */
export class CsrfRefused extends ForbiddenException {
  constructor() {
    super(['The form was not sent from this site (CSRF check failed).']);
  }
}

/** An @AdminOnly page asked for with a token that is not an admin's. */
export class AdminRequired extends ForbiddenException {
  constructor() {
    super(['This page needs an admin token.']);
  }
}

/**
 * The web pages' sign-in: the session cookie holds an API token, which becomes the Caller as a
 * Bearer header would; a POST must carry the session's CSRF token; `?organization=` narrows the
 * scope as on the API; an @AdminOnly page needs an admin token.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<SessionRequest>();
    const session = readCookie(request, SESSION_COOKIE);
    const caller = session ? await this.tokens.authenticate(session) : null;
    if (!caller || !session) throw new SignInRequired();
    const csrf = csrfToken(session);
    if (request.method === 'POST' && !sameText(String(request.body?.csrf ?? ''), csrf)) throw new CsrfRefused();
    const organization = request.query.organization;
    if (typeof organization === 'string' && organization !== '') {
      caller.scope = await this.tokens.narrowScope(caller, organization);
    }
    Object.assign(request, { caller, csrf });
    // Checked once the caller is set: the refusal is a page of the signed-in site, with its nav.
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) && !caller.isAdmin) throw new AdminRequired();
    return true;
  }
}

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Pages for a signed-in session. @Public to the API's AuthGuard, which wants a Bearer header:
 * the SessionGuard authenticates them instead.
 */
export const SignedIn = () => applyDecorators(Public(), UseGuards(SessionGuard));
