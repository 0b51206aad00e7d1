import { Injectable } from '@nestjs/common';
import { ApiTokenRepository, hashTokenSecret, OrganizationRepository } from '@kat/domain';
import { badRequest, forbidden } from '../common/errors';
import { Caller } from './authenticated';

/**
 * How long a token found in the database is trusted without asking again: a lookup per request
 * cost a round trip on every call. A token deleted from the database works this much longer.
 */
const TOKEN_CACHE_MS = 10_000;
const TOKEN_CACHE_SIZE = 10_000;

/** Turns an API token (from a header or the web pages' cookie) into a Caller, and narrows its scope. */
@Injectable()
export class TokenAuthenticator {
  /** By token hash, oldest first (a Map keeps insertion order); only tokens that exist. */
  private readonly known = new Map<string, { caller: Caller; until: number }>();

  constructor(
    private readonly apiTokens: ApiTokenRepository,
    private readonly organizations: OrganizationRepository,
  ) {}

  /** The caller a user or admin token stands for; null when no such token exists. */
  async authenticate(secret: string): Promise<Caller | null> {
    const hash = hashTokenSecret(secret);
    const cached = this.known.get(hash);
    // A copy: a request narrows its caller's scope (?organization=), which must not stick to the token.
    if (cached && cached.until > Date.now()) return { ...cached.caller, scope: { ...cached.caller.scope } };
    this.known.delete(hash);
    const caller = await this.lookUp(hash);
    if (caller) {
      if (this.known.size >= TOKEN_CACHE_SIZE) this.known.delete(this.known.keys().next().value as string);
      this.known.set(hash, { caller: { ...caller, scope: { ...caller.scope } }, until: Date.now() + TOKEN_CACHE_MS });
    }
    return caller;
  }

  private async lookUp(hash: string): Promise<Caller | null> {
    const token = await this.apiTokens.findByHash(hash);
    if (!token) return null;
    return {
      tokenId: token.id,
      isAdmin: token.is_admin,
      organizationId: token.organization_id,
      organizationCode: token.organization_code,
      scope: { organizationId: token.organization_id, organizationCode: token.organization_code },
    };
  }

  /** The scope for `?organization=<code>`: any organization for an admin, only its own otherwise. */
  async narrowScope(caller: Caller, requested: unknown): Promise<Caller['scope']> {
    if (typeof requested !== 'string' || requested === '')
      throw badRequest('organization must be an organization code');
    if (!caller.isAdmin) {
      if (requested === caller.organizationCode) return caller.scope;
      throw forbidden(`organization: this token belongs to ${caller.organizationCode} and cannot act for ${requested}`);
    }
    const organization = await this.organizations.findByCode(requested);
    if (!organization) throw badRequest(`organization: no organization has the code ${requested}`);
    return { organizationId: organization.id, organizationCode: requested };
  }
}
