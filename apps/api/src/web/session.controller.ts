import { Body, Get, Post, Redirect, Req, Res } from '@nestjs/common';
import { PLUGIN_TOKEN_PREFIX } from '@kat/domain';
import type { Request, Response } from 'express';
import { Public } from '../auth/authenticated';
import { SESSION_COOKIE } from '../auth/session';
import { SignedIn } from '../auth/session.guard';
import { TokenAuthenticator } from '../auth/token-authenticator';
import { PageController } from './page-controller';
import { PageShell } from './page-shell';
import { Shell } from './templates/layout';
import { signInPage } from './templates/sign-in';

/** Sign-in and sign-out: the session cookie holds the API token the form was given. */
@PageController()
@Public()
export class SessionController {
  constructor(private readonly tokens: TokenAuthenticator) {}

  @Get('sign-in')
  form(@PageShell() shell: Shell): string {
    return signInPage(shell);
  }

  @Post('sign-in')
  async signIn(
    @Body() form: Record<string, unknown>,
    @PageShell() shell: Shell,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const token = String(form.token ?? '').trim();
    // A plugin's token acts for its one task run, never in a browser.
    const caller = token && !token.startsWith(PLUGIN_TOKEN_PREFIX) ? await this.tokens.authenticate(token) : null;
    if (!caller) {
      res.status(401).type('html').send(signInPage(shell, 'That token is not valid.'));
      return;
    }
    res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
    res.redirect(303, '/tasks/');
  }

  @Post('sign-out')
  @SignedIn()
  @Redirect('/sign-in', 303)
  signOut(@Res({ passthrough: true }) res: Response): void {
    res.clearCookie(SESSION_COOKIE, { path: '/' });
  }
}
