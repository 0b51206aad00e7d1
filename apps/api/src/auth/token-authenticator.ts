import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { hashTokenSecret } from '@kat/domain';
import { DataSource } from 'typeorm';
import { badRequest, forbidden } from '../common/errors';
import { Caller } from './authenticated';

/** Turns an API token (from a header or the web pages' cookie) into a Caller, and narrows its scope. */
@Injectable()
export class TokenAuthenticator {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The caller a user or admin token stands for; null when no such token exists. */
  async authenticate(secret: string): Promise<Caller | null> {
    const rows = await this.db.query(
      `SELECT t.id, t.is_admin, t.organization_id, o.code FROM api_token t
       LEFT JOIN organization o ON o.id = t.organization_id WHERE t.token_hash = $1`,
      [hashTokenSecret(secret)],
    );
    if (rows.length === 0) return null;
    const token = rows[0];
    return {
      tokenId: token.id,
      isAdmin: token.is_admin,
      organizationId: token.organization_id,
      organizationCode: token.code,
      scope: { organizationId: token.organization_id, organizationCode: token.code },
    };
  }

  /** The scope for `?organization=<code>`: any organization for an admin, only its own otherwise. */
  async narrowScope(caller: Caller, requested: unknown): Promise<Caller['scope']> {
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
