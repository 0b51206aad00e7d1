import { Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { ApiTokenRepository, hashTokenSecret, OrganizationRepository, TokenHolder } from '@kat/domain';
import { TokenRevocations } from '@kat/runtime';
import { badRequest, forbidden } from '../common/errors';
import { Caller } from './authenticated';

/**
 * How long a token found in the database is trusted without asking again: a lookup per request
 * cost a round trip on every call. A revocation ends the trust at once (TokenRevocations); an
 * expiry ends it at the expiry.
 */
const TOKEN_CACHE_MS = 10_000;
const TOKEN_CACHE_SIZE = 10_000;
/** last_used_at is written at most this often per token (and API process). */
const TOUCH_EVERY_MS = 60_000;

/** Turns an API token (from a header) or a web session into a Caller, and narrows its scope. */
@Injectable()
export class TokenAuthenticator {
  private readonly logger = new Logger(TokenAuthenticator.name);
  /** By token hash, oldest first (a Map keeps insertion order); only tokens that work. */
  private readonly known = new Map<string, { caller: Caller; until: number }>();
  /** The revocation count the cache was filled under; a new one empties it. */
  private knownGeneration: string | null = null;
  /** When each token's use was last written, by token id. */
  private readonly touched = new Map<number, number>();

  constructor(
    private readonly apiTokens: ApiTokenRepository,
    private readonly organizations: OrganizationRepository,
    private readonly revocations: TokenRevocations,
  ) {}

  /** The caller a user or admin token stands for; a 401 naming why when it does not work. */
  async authenticate(secret: string): Promise<Caller> {
    const hash = hashTokenSecret(secret);
    // Read before the lookup: a revocation that commits after it changes the count, so what the
    // lookup finds is never trusted past a revocation.
    const generation = await this.revocations.generation();
    if (generation !== this.knownGeneration) {
      this.known.clear();
      this.knownGeneration = generation;
    }
    const cached = this.known.get(hash);
    if (cached && cached.until > Date.now()) {
      this.noteUse(cached.caller.tokenId);
      // A copy: a request narrows its caller's scope (?organization=), which must not stick to the token.
      return { ...cached.caller, scope: { ...cached.caller.scope } };
    }
    this.known.delete(hash);
    const caller = callerOf(await this.apiTokens.findByHash(hash));
    // Only under the count read before the lookup: had a revocation come meanwhile, another request
    // would have moved the cache on to the new count, and this lookup's answer may predate it.
    if (generation !== null && generation === this.knownGeneration) {
      if (this.known.size >= TOKEN_CACHE_SIZE) this.known.delete(this.known.keys().next().value as string);
      const expires = caller.expiresAt ?? Infinity;
      const until = Math.min(Date.now() + TOKEN_CACHE_MS, expires);
      this.known.set(hash, { caller: { ...caller.caller, scope: { ...caller.caller.scope } }, until });
    }
    this.noteUse(caller.caller.tokenId);
    return caller.caller;
  }

  /** The caller a web session stands for; null when the session or its token has ended. */
  async fromSession(sessionHash: string): Promise<Caller | null> {
    try {
      const caller = callerOf(await this.apiTokens.findBySession(sessionHash)).caller;
      this.noteUse(caller.tokenId);
      return caller;
    } catch (error) {
      if (error instanceof UnauthorizedException) return null;
      throw error;
    }
  }

  /** Records the token's use, at most once a minute, without holding up the request. */
  private noteUse(tokenId: number): void {
    const now = Date.now();
    if ((this.touched.get(tokenId) ?? 0) > now - TOUCH_EVERY_MS) return;
    if (this.touched.size >= TOKEN_CACHE_SIZE) this.touched.clear();
    this.touched.set(tokenId, now);
    this.apiTokens.touch(tokenId).catch((error: Error) => this.logger.warn(`last_used_at: ${error.message}`));
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

/** The caller of a token that works, and when it expires; a 401 naming why otherwise. */
function callerOf(token: TokenHolder | null): { caller: Caller; expiresAt: number | null } {
  if (!token) throw new UnauthorizedException(['the API token is not valid']);
  if (token.revoked_at) throw new UnauthorizedException(['the API token has been revoked']);
  const expiresAt = token.expires_at ? new Date(token.expires_at).getTime() : null;
  if (expiresAt !== null && expiresAt <= Date.now()) throw new UnauthorizedException(['the API token has expired']);
  const scope = { organizationId: token.organization_id, organizationCode: token.organization_code };
  return {
    caller: {
      tokenId: token.id,
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
      tokenName: token.name,
      access: token.access,
      isAdmin: token.is_admin,
      organizationId: token.organization_id,
      organizationCode: token.organization_code,
      scope,
    },
    expiresAt,
  };
}
