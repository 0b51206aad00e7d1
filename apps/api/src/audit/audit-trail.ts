import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { AuditActor, AuditLogRepository } from '@kat/domain';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Observable } from 'rxjs';
import type { SessionRequest } from '../auth/session.guard';

/** The request being handled, so that an action is recorded with its actor wherever it happens. */
const requests = new AsyncLocalStorage<SessionRequest>();

/**
 * Runs every handler inside its request's context (after the guards set the caller). An interceptor
 * rather than a middleware: it runs after the body parsers, whose callbacks would lose the context.
 */
@Injectable()
export class RequestContext implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<SessionRequest>();
    return new Observable((subscriber) => requests.run(request, () => next.handle().subscribe(subscriber)));
  }
}

/** What an action was done to. `organization`: the code of the organization it belongs to, if any. */
export interface AuditTarget {
  id: string | number | null;
  organization: string | null;
}

/**
 * Records operator actions in the append-only audit log, with the current request's caller as the
 * actor. Called where the change is made, after it succeeded, with what changed.
 */
@Injectable()
export class AuditTrail {
  constructor(private readonly entries: AuditLogRepository) {}

  /** `action` is `<target type>.<verb>`: `task.cancel`, `plugin.settings.update`. */
  async record(action: string, target: AuditTarget, changes: Record<string, unknown> = {}): Promise<void> {
    await this.entries.record({
      organization_code: target.organization,
      ...this.actor(),
      action,
      target_type: action.split('.')[0],
      target_id: target.id === null ? null : String(target.id),
      changes,
    });
  }

  /** The current request's caller, as an entry records it (for a change that writes its own entry). */
  actor(): AuditActor {
    const request = requests.getStore();
    const caller = request?.caller;
    return {
      actor_token_id: caller?.tokenId || null,
      actor: caller ? `token ${caller.tokenId} (${caller.tokenName})` : 'unknown',
      via: request?.csrf ? 'web' : 'api',
    };
  }
}
