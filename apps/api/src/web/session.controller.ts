import { Body, Get, Post, Redirect, Req, Res, UnauthorizedException } from '@nestjs/common';
import { PLUGIN_TOKEN_PREFIX, WebSessionRepository } from '@kat/domain';
import type { Request, Response } from 'express';
import { Caller, Public } from '../auth/authenticated';
import {
  newSecret,
  readCookie,
  sameText,
  SESSION_COOKIE,
  SESSION_SECONDS,
  sessionHash,
  SIGN_IN_COOKIE,
} from '../auth/session';
import { SignedIn } from '../auth/session.guard';
import { TokenAuthenticator } from '../auth/token-authenticator';
import { PageController } from './page-controller';
import { PageShell } from './page-shell';
import { Shell } from './templates/layout';
import { signInPage } from './templates/sign-in';

/** The sign-in form's secret lives as long as a person may take to paste a token. */
const SIGN_IN_SECONDS = 3600;

/**
 * Sign-in and sign-out. Signing in opens a server-side session for the token the form was given:
 * the browser gets the session's random id, never the token. The form carries a secret that is
 * also in a cookie of its own, so only our form can sign a browser in (no login CSRF).
 */
@PageController()
@Public()
export class SessionController {
  constructor(
    private readonly tokens: TokenAuthenticator,
    private readonly sessions: WebSessionRepository,
  ) {}

  @Get('sign-in')
  form(@PageShell() shell: Shell, @Req() req: Request, @Res() res: Response): void {
    this.sendForm(req, res, shell, 200);
  }

  @Post('sign-in')
  async signIn(
    @Body() form: Record<string, unknown>,
    @PageShell() shell: Shell,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const expected = readCookie(req, SIGN_IN_COOKIE);
    if (!expected || !sameText(String(form.sign_in ?? ''), expected)) {
      return this.sendForm(req, res, shell, 403, 'The sign-in form was not sent from this site: try again.');
    }
    const token = String(form.token ?? '').trim();
    // A plugin's token acts for its one task run, never in a browser.
    const caller = token && !token.startsWith(PLUGIN_TOKEN_PREFIX) ? await this.callerOf(token) : null;
    if (!caller) return this.sendForm(req, res, shell, 401, 'That token is not valid.');
    // A new id at every sign-in: an id planted in the browser before (session fixation) is never
    // used, and the browser's previous session ends.
    const previous = readCookie(req, SESSION_COOKIE);
    if (previous) await this.sessions.delete(sessionHash(previous));
    const session = newSecret();
    await this.sessions.create(sessionHash(session), caller.tokenId, SESSION_SECONDS);
    const cookie = { httpOnly: true, sameSite: 'strict' as const, secure: req.secure };
    res.clearCookie(SIGN_IN_COOKIE, { ...cookie, path: '/sign-in' });
    res.cookie(SESSION_COOKIE, session, { ...cookie, path: '/', maxAge: SESSION_SECONDS * 1000 });
    res.redirect(303, '/dashboard/');
  }

  @Post('sign-out')
  @SignedIn()
  @Redirect('/sign-in', 303)
  async signOut(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const session = readCookie(req, SESSION_COOKIE);
    if (session) await this.sessions.delete(sessionHash(session));
    res.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  /** The form with a fresh secret in its hidden field and in the sign-in cookie. */
  private sendForm(req: Request, res: Response, shell: Shell, status: number, error?: string): void {
    const secret = newSecret();
    res.cookie(SIGN_IN_COOKIE, secret, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.secure,
      path: '/sign-in',
      maxAge: SIGN_IN_SECONDS * 1000,
    });
    res
      .status(status)
      .type('html')
      .send(signInPage(shell, secret, error));
  }

  private async callerOf(token: string): Promise<Caller | null> {
    try {
      return await this.tokens.authenticate(token);
    } catch (error) {
      if (error instanceof UnauthorizedException) return null;
      throw error;
    }
  }
}
