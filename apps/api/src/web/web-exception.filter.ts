import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { CsrfRefused, NotAllowed, SessionRequest, SignInRequired } from '../auth/session.guard';
import { shellOf } from './page-shell';
import { errorPage } from './templates/error';
import { clientErrorOf } from '../common/client-errors';
import { SESSION_COOKIE } from '../auth/session';

/**
 * The web pages' errors as a readable page with the message and the status, where the API
 * answers JSON; a page without a valid session sends the browser to the sign-in form.
 */
@Catch()
export class WebExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(WebExceptionFilter.name);

  catch(thrown: unknown, host: ArgumentsHost): void {
    const error = clientErrorOf(thrown) ?? thrown;
    const request = host.switchToHttp().getRequest<SessionRequest>();
    const response = host.switchToHttp().getResponse<Response>();
    // A cookie that leads to no session (ended, or one from before sessions were kept server-side,
    // which held the token itself) is dropped on the way.
    if (error instanceof SignInRequired) {
      return response.clearCookie(SESSION_COOKIE, { path: '/' }).redirect(303, '/sign-in');
    }
    if (!(error instanceof HttpException)) {
      // The page says only that something went wrong: what did goes to the log.
      this.logger.error(error instanceof Error ? error.message : String(error), (error as Error)?.stack);
    }
    const status = error instanceof HttpException ? error.getStatus() : 500;
    const message =
      error instanceof HttpException
        ? [(error.getResponse() as { message?: string | string[] }).message].flat().join('; ')
        : 'Something went wrong.';
    response
      .status(status)
      .type('html')
      .send(errorPage(shellOf(request), titleOf(error, status), message));
  }
}

function titleOf(error: unknown, status: number): string {
  if (error instanceof CsrfRefused) return 'Refused';
  if (error instanceof NotAllowed) return 'Not allowed';
  return status === 404 ? 'Not found' : 'Error';
}
