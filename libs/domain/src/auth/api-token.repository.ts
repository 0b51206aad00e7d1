import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TenantScope } from './tenant-scope';
import { TokenAccess } from './api-token.entity';
import { generateTokenSecret, hashTokenSecret } from './token-secret';

/**
 * What authentication needs of a token: whose it is, what it may do, and whether it still works.
 * Organization fields are null for an admin token.
 */
export interface TokenHolder {
  id: number;
  name: string;
  is_admin: boolean;
  access: TokenAccess;
  organization_id: number | null;
  organization_code: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** A token as it is listed: never its secret or hash. `status` is derived from the dates. */
export interface TokenView {
  id: number;
  name: string;
  organization: string | null;
  access: TokenAccess;
  status: 'active' | 'expired' | 'revoked';
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}

export interface NewToken {
  name: string;
  organization_id: number | null;
  is_admin: boolean;
  access: TokenAccess;
  expires_at: Date | null;
}

const HOLDER = `t.id, t.name, t.is_admin, t.access, t.organization_id, o.code AS organization_code, t.expires_at,
  t.revoked_at`;
const VIEW = `t.id, t.name, o.code AS organization, t.access, t.expires_at, t.last_used_at, t.revoked_at, t.created_at,
  CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked' WHEN t.expires_at <= now() THEN 'expired' ELSE 'active' END
  AS status`;

/** API tokens, stored as SHA-256 hashes of their secrets. */
@Injectable()
export class ApiTokenRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * The token with that hash, revoked or expired ones included (the caller says which); null when
   * there is none. Per request that the API has not cached: served by api_token's unique token_hash.
   */
  async findByHash(tokenHash: string): Promise<TokenHolder | null> {
    const rows: TokenHolder[] = await this.db.query(
      `SELECT ${HOLDER} FROM api_token t LEFT JOIN organization o ON o.id = t.organization_id
       WHERE t.token_hash = $1`,
      [tokenHash],
    );
    return rows[0] ?? null;
  }

  /**
   * The token of an unexpired web session, by the hash of the session id; null when the session
   * does not exist or has expired. Per page request: web_session's primary key.
   */
  async findBySession(sessionHash: string): Promise<TokenHolder | null> {
    const rows: TokenHolder[] = await this.db.query(
      `SELECT ${HOLDER} FROM web_session s JOIN api_token t ON t.id = s.token_id
       LEFT JOIN organization o ON o.id = t.organization_id
       WHERE s.id_hash = $1 AND s.expires_at > now()`,
      [sessionHash],
    );
    return rows[0] ?? null;
  }

  /** Records a use, unless one was recorded in the last minute (so most calls write nothing). */
  async touch(id: number): Promise<void> {
    await this.db.query(
      `UPDATE api_token SET last_used_at = now()
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }

  /** Makes a new token; returns it as listed, and its secret, which is stored only as a hash. */
  async issue(token: NewToken): Promise<{ token: TokenView; secret: string }> {
    const secret = generateTokenSecret();
    const rows: TokenView[] = await this.db.query(
      `WITH t AS (
         INSERT INTO api_token (name, organization_id, is_admin, access, expires_at, token_hash)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *)
       SELECT ${VIEW} FROM t LEFT JOIN organization o ON o.id = t.organization_id`,
      [token.name, token.organization_id, token.is_admin, token.access, token.expires_at, hashTokenSecret(secret)],
    );
    return { token: rows[0], secret };
  }

  /**
   * The tokens in scope, newest first, `limit` at most, below the id `before` if given (the next
   * page). An organization's: api_token_organization; all of them: the primary key.
   */
  list(scope: TenantScope, limit: number, before?: number): Promise<TokenView[]> {
    return this.db.query(
      `SELECT ${VIEW} FROM api_token t LEFT JOIN organization o ON o.id = t.organization_id
       WHERE ($1::int IS NULL OR t.organization_id = $1) AND ($2::int IS NULL OR t.id < $2)
       ORDER BY t.id DESC LIMIT $3`,
      [scope.organizationId, before ?? null, limit],
    );
  }

  /** One token in scope; null when there is none. */
  async findById(id: number, scope: TenantScope): Promise<TokenView | null> {
    const rows: TokenView[] = await this.db.query(
      `SELECT ${VIEW} FROM api_token t LEFT JOIN organization o ON o.id = t.organization_id
       WHERE t.id = $1 AND ($2::int IS NULL OR t.organization_id = $2)`,
      [id, scope.organizationId],
    );
    return rows[0] ?? null;
  }

  /**
   * Revokes a token in scope that is not revoked yet, and ends its web sessions; returns it as
   * listed, or null when there is no such token in scope or it was revoked already.
   */
  async revoke(id: number, scope: TenantScope): Promise<TokenView | null> {
    const rows: TokenView[] = await this.db.query(
      `WITH t AS (
         UPDATE api_token SET revoked_at = now()
         WHERE id = $1 AND ($2::int IS NULL OR organization_id = $2) AND revoked_at IS NULL RETURNING *),
       ended AS (DELETE FROM web_session WHERE token_id IN (SELECT id FROM t))
       SELECT ${VIEW} FROM t LEFT JOIN organization o ON o.id = t.organization_id`,
      [id, scope.organizationId],
    );
    return rows[0] ?? null;
  }
}
