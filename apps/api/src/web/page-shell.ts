import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { SessionRequest } from '../auth/session.guard';
import { Shell } from './templates/layout';

/** The shell of the page a request asks for: the SessionGuard's caller and CSRF token, the last form's notice. */
export function shellOf(request: SessionRequest): Shell {
  const notice = request.query.notice;
  return { caller: request.caller, csrf: request.csrf, notice: typeof notice === 'string' ? notice : undefined };
}

/** A page handler's parameter: its shell (a SignedInShell behind the SessionGuard). */
export const PageShell = createParamDecorator((_: unknown, context: ExecutionContext): Shell =>
  shellOf(context.switchToHttp().getRequest()),
);
