import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { TokenAuthenticator } from './token-authenticator';

/**
 * Who is calling: the AuthGuard on every route (a Bearer token; @Public skips it), and for the
 * modules that import this one, the TokenAuthenticator their SessionGuard needs (one cache for all).
 */
@Module({
  providers: [TokenAuthenticator, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [TokenAuthenticator],
})
export class AuthModule {}
