import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiToken } from './api-token.entity';

/** What authentication needs of a token: whose it is. Organization fields are null for an admin token. */
export interface TokenHolder {
  id: number;
  is_admin: boolean;
  organization_id: number | null;
  organization_code: string | null;
}

/** API tokens, stored as SHA-256 hashes of their secrets. */
@Injectable()
export class ApiTokenRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * The token with that hash and its organization's code; null when there is none. Per request
   * (the API caches it for a few seconds): served by api_token's unique token_hash.
   */
  async findByHash(tokenHash: string): Promise<TokenHolder | null> {
    const rows: TokenHolder[] = await this.db.query(
      `SELECT t.id, t.is_admin, t.organization_id, o.code AS organization_code FROM api_token t
       LEFT JOIN organization o ON o.id = t.organization_id WHERE t.token_hash = $1`,
      [tokenHash],
    );
    return rows[0] ?? null;
  }

  /** Stores a new token (only the hash of its secret). */
  async create(token: Pick<ApiToken, 'name' | 'organization_id' | 'is_admin' | 'token_hash'>): Promise<void> {
    await this.db.getRepository(ApiToken).insert(token);
  }
}
