import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { hashTokenSecret } from '@kat/domain';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { badRequest, forbidden } from '../common/errors';
import { ADMIN_ONLY, Caller, IS_PUBLIC } from './authenticated';

const SCHEME = /^(?:Bearer|Token)\s+(\S+)\s*$/i;

/**
 * Every route needs `Authorization: Bearer <token>` (or `Token <token>`) unless marked @Public.
 * Resolves the caller's tenant scope once, so handlers never decide it themselves.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<Request & { caller?: Caller }>();
    const match = SCHEME.exec(request.headers.authorization ?? '');
    if (!match) throw new UnauthorizedException(['Authorization header must be "Bearer <token>"']);
    const rows = await this.db.query(
      `SELECT t.id, t.is_admin, t.organization_id, o.code FROM api_token t
       LEFT JOIN organization o ON o.id = t.organization_id WHERE t.token_hash = $1`,
      [hashTokenSecret(match[1])],
    );
    if (rows.length === 0) throw new UnauthorizedException(['the API token is not valid']);
    const token = rows[0];
    const caller: Caller = {
      tokenId: token.id,
      isAdmin: token.is_admin,
      organizationId: token.organization_id,
      organizationCode: token.code,
      scope: { organizationId: token.organization_id, organizationCode: token.code },
    };
    if (this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) && !caller.isAdmin) {
      throw forbidden('this needs an admin token');
    }
    const requested = request.query.organization;
    if (requested !== undefined) caller.scope = await this.narrowScope(caller, requested);
    request.caller = caller;
    return true;
  }

  private async narrowScope(caller: Caller, requested: unknown): Promise<Caller['scope']> {
    if (typeof requested !== 'string' || requested === '') throw badRequest('organization must be an organization code');
    if (!caller.isAdmin) {
      if (requested === caller.organizationCode) return caller.scope;
      throw forbidden(`organization: this token belongs to ${caller.organizationCode} and cannot act for ${requested}`);
    }
    const rows = await this.db.query(`SELECT id FROM organization WHERE code = $1`, [requested]);
    if (rows.length === 0) throw badRequest(`organization: no organization has the code ${requested}`);
    return { organizationId: rows[0].id, organizationCode: requested };
  }
}
