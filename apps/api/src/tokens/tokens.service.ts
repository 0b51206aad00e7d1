import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ApiTokenRepository, TenantScope, TOKEN_ACCESS, TokenAccess, TokenView } from '@kat/domain';
import { RevocationNotAnnounced, TokenRevocations } from '@kat/runtime';
import { Caller } from '../auth/authenticated';
import { AuditTrail } from '../audit/audit-trail';
import { badRequest, notFound } from '../common/errors';
import { requireOrganization } from '../tasks/tasks.service';

export interface TokenRequest {
  name: string;
  access?: TokenAccess;
  /** ISO 8601; absent or null: the token does not expire. */
  expires_at?: string | null;
}

/**
 * An organization's tokens, for its admins (tokens with admin access) and the admins of all:
 * listed without secrets, made (the secret shown once), and revoked at once in every API process.
 */
@Injectable()
export class TokensService {
  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly revocations: TokenRevocations,
    private readonly audit: AuditTrail,
  ) {}

  list(scope: TenantScope, limit: number, before?: number): Promise<TokenView[]> {
    return this.tokens.list(scope, limit, before);
  }

  async get(scope: TenantScope, id: number): Promise<TokenView> {
    const token = await this.tokens.findById(id, scope);
    if (!token) throw notFound(`token ${id} does not exist`);
    return token;
  }

  /**
   * A new token of the scope's organization (admin tokens of every organization are made with the
   * CLI), expiring no later than the token that makes it: a stolen or short-lived admin token
   * cannot leave behind tokens that outlive it.
   */
  async issue(issuer: Caller, request: TokenRequest): Promise<TokenView & { token: string }> {
    const scope = issuer.scope;
    const organizationId = requireOrganization(scope);
    // The API's DTO checks these too; the pages' form comes here directly.
    if (request.name.length < 1 || request.name.length > 100) throw badRequest('name must be 1 to 100 characters');
    if (request.access && !TOKEN_ACCESS.includes(request.access)) {
      throw badRequest(`access must be one of ${TOKEN_ACCESS.join(', ')}`);
    }
    const expiresAt = request.expires_at ? new Date(request.expires_at) : null;
    if (expiresAt && Number.isNaN(expiresAt.getTime())) throw badRequest('expires_at must be a date');
    if (expiresAt && expiresAt.getTime() <= Date.now()) throw badRequest('expires_at must be in the future');
    if (issuer.expiresAt && (!expiresAt || expiresAt > issuer.expiresAt)) {
      throw badRequest(`expires_at must be no later than ${issuer.expiresAt.toISOString()}, when this token expires`);
    }
    const { token, secret } = await this.tokens.issue({
      name: request.name,
      organization_id: organizationId,
      is_admin: false,
      access: request.access ?? 'write',
      expires_at: expiresAt,
    });
    await this.audit.record(
      'token.create',
      { id: token.id, organization: token.organization },
      { name: token.name, access: token.access, expires_at: token.expires_at },
    );
    return { ...token, token: secret };
  }

  /**
   * Revokes a token and tells every API process before answering (a 503 when they could not be
   * told); a token revoked already is answered as it is, with no change.
   */
  async revoke(scope: TenantScope, id: number): Promise<TokenView> {
    const token = await this.tokens.revoke(id, scope);
    if (!token) return this.get(scope, id);
    await this.audit.record('token.revoke', { id: token.id, organization: token.organization }, { name: token.name });
    try {
      await this.revocations.announce();
    } catch (error) {
      if (error instanceof RevocationNotAnnounced) throw new ServiceUnavailableException([error.message]);
      throw error;
    }
    return token;
  }
}
