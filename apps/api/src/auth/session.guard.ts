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
import { ADMIN_ONLY, Caller, Public, refusal, TOKEN_ADMIN } from './authenticated';
import { csrfToken, readCookie, sameText, SESSION_COOKIE, sessionHash } from './session';
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

/** A page or form the session's token may not use (admin pages, token management, writes when read-only). */
export class NotAllowed extends ForbiddenException {
  constructor(reason: string) {
    super([`Not allowed: ${reason}.`]);
  }
}

/**
 * The web pages' sign-in: the session cookie's id leads to the API token it was opened with, which
 * becomes the Caller as a Bearer header would; a POST must carry the session's CSRF token;
 * `?organization=` narrows the scope as on the API; the token's limits apply as on the API.
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
    const caller = session ? await this.tokens.fromSession(sessionHash(session)) : null;
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
    const refused = refusal(caller, request.method, {
      adminOnly: this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) ?? false,
      tokenAdmin: this.reflector.getAllAndOverride<boolean>(TOKEN_ADMIN, targets) ?? false,
    });
    // Signing out is a POST that a read-only session may make.
    if (refused && !(request.method === 'POST' && request.path === '/sign-out')) throw new NotAllowed(refused);
    return true;
  }
}

/**
 * Pages for a signed-in session. @Public to the API's AuthGuard, which wants a Bearer header:
 * the SessionGuard authenticates them instead.
 */
export const SignedIn = () => applyDecorators(Public(), UseGuards(SessionGuard));
