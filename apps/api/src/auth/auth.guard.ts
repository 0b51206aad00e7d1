import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PLUGIN_TOKEN_PREFIX, PluginTokenService, TaskRepository, TaskStatus } from '@kat/domain';
import type { Request } from 'express';
import { forbidden } from '../common/errors';
import { ADMIN_ONLY, Caller, IS_PUBLIC, PLUGIN_TOKEN_ALLOWED, refusal, TOKEN_ADMIN } from './authenticated';
import { readCookie, SESSION_COOKIE, sessionHash } from './session';
import { TokenAuthenticator } from './token-authenticator';

const SCHEME = /^(?:Bearer|Token)\s+(\S+)\s*$/i;

/**
 * Every route needs `Authorization: Bearer <token>` (or `Token <token>`) unless marked @Public.
 * Resolves the caller's tenant scope once, so handlers never decide it themselves, and refuses
 * what the token may not do: admin routes, token management without admin access, and any write
 * with a read-only token.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tasks: TaskRepository,
    private readonly pluginTokens: PluginTokenService,
    private readonly tokens: TokenAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<Request & { caller?: Caller }>();
    const header = request.headers.authorization;
    // The web pages' session also reads the API (links from the pages), never writes it.
    if (header === undefined && ['GET', 'HEAD'].includes(request.method)) {
      const session = readCookie(request, SESSION_COOKIE);
      const caller = session ? await this.tokens.fromSession(sessionHash(session)) : null;
      if (caller) return this.admit(request, caller, targets);
    }
    const match = SCHEME.exec(header ?? '');
    if (!match) throw new UnauthorizedException(['Authorization header must be "Bearer <token>"']);
    if (match[1].startsWith(PLUGIN_TOKEN_PREFIX)) {
      if (!this.reflector.getAllAndOverride<boolean>(PLUGIN_TOKEN_ALLOWED, targets)) {
        throw forbidden(
          "a plugin token may only read its task's input (object or file) and write objects with its task_id",
        );
      }
      request.caller = await this.pluginCaller(match[1]);
      const requested = request.query.organization;
      if (requested !== undefined && requested !== request.caller.organizationCode) {
        throw forbidden(`organization: a plugin token acts only for ${request.caller.organizationCode}`);
      }
      return true;
    }
    return this.admit(request, await this.tokens.authenticate(match[1]), targets);
  }

  /** Lets a user or admin token's caller through if it may call this route, with its scope narrowed. */
  private async admit(
    request: Request & { caller?: Caller },
    caller: Caller,
    targets: Parameters<Reflector['getAllAndOverride']>[1],
  ): Promise<boolean> {
    const refused = refusal(caller, request.method, {
      adminOnly: this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) ?? false,
      tokenAdmin: this.reflector.getAllAndOverride<boolean>(TOKEN_ADMIN, targets) ?? false,
    });
    if (refused) throw forbidden(refused);
    const requested = request.query.organization;
    if (requested !== undefined) caller.scope = await this.tokens.narrowScope(caller, requested);
    request.caller = caller;
    return true;
  }

  /** A plugin container's caller: valid only while its task is RUNNING the attempt it was made for. */
  private async pluginCaller(token: string): Promise<Caller> {
    const claims = await this.pluginTokens.verify(token);
    if (!claims) throw new UnauthorizedException(['the plugin token is not valid or has expired']);
    const task = await this.tasks.pluginTokenHolder(claims.task_id, claims.organization_id);
    if (!task || task.status !== TaskStatus.RUNNING || task.attempts !== claims.attempt) {
      throw forbidden(`this plugin token's task ${claims.task_id} has ended; its token no longer works`);
    }
    const scope = { organizationId: claims.organization_id, organizationCode: task.organization_code };
    return {
      tokenId: 0,
      tokenName: `plugin ${task.plugin_id}`,
      expiresAt: new Date(claims.expires * 1000),
      access: 'write',
      isAdmin: false,
      organizationId: claims.organization_id,
      organizationCode: task.organization_code,
      scope,
      plugin: { taskId: claims.task_id, pluginId: task.plugin_id, inputObject: task.input_object },
    };
  }
}
