import { Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { AuditTrail, RequestContext } from '../audit/audit-trail';
import { AuthGuard } from './auth.guard';
import { TokenAuthenticator } from './token-authenticator';

/**
 * Who is calling: the AuthGuard on every route (a Bearer token; @Public skips it), and for the
 * modules that import this one, the TokenAuthenticator their SessionGuard needs (one cache for all);
 * and the AuditTrail that records what each caller did.
 */
@Module({
  providers: [
    TokenAuthenticator,
    AuditTrail,
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_INTERCEPTOR, useClass: RequestContext },
  ],
  exports: [TokenAuthenticator, AuditTrail],
})
export class AuthModule {}
