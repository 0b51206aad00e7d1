import { Injectable } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';

export const PLUGIN_TOKEN_PREFIX = 'katp_';
/** A token outlives its plugin's timeout by this much, to cover the last call-backs. */
const EXPIRY_MARGIN_SECONDS = 60;

/** What a plugin token carries. The attempt ties it to one run: a later attempt's token differs. */
export interface PluginTokenClaims {
  task_id: string;
  attempt: number;
  organization_id: number;
  /** Expiry, seconds since the epoch. */
  expires: number;
}

/**
 * Signs and verifies the KAT_API_TOKEN each plugin container gets (HMAC-SHA256 with a random key
 * that the Objects migration stored in the database, so api and worker share it without configuration).
 * A valid signature is not enough: the API also checks that the task is still RUNNING this attempt.
 */
@Injectable()
export class PluginTokenService {
  private key?: Promise<Buffer>;

  constructor(private readonly db: DataSource) {}

  async sign(claims: Omit<PluginTokenClaims, 'expires'>, timeoutSeconds: number): Promise<string> {
    const full: PluginTokenClaims = {
      ...claims,
      expires: Math.floor(Date.now() / 1000) + timeoutSeconds + EXPIRY_MARGIN_SECONDS,
    };
    const payload = Buffer.from(JSON.stringify(full)).toString('base64url');
    return `${PLUGIN_TOKEN_PREFIX}${payload}.${await this.signature(payload)}`;
  }

  /** The claims of a well-signed, unexpired token; null otherwise. */
  async verify(token: string): Promise<PluginTokenClaims | null> {
    if (!token.startsWith(PLUGIN_TOKEN_PREFIX)) return null;
    const [payload, signature] = token.slice(PLUGIN_TOKEN_PREFIX.length).split('.');
    if (!payload || !signature) return null;
    const expected = Buffer.from(await this.signature(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as PluginTokenClaims;
      return claims.expires > Date.now() / 1000 ? claims : null;
    } catch {
      return null;
    }
  }

  private async signature(payload: string): Promise<string> {
    this.key ??= this.db
      .query(`SELECT value FROM kat_secret WHERE name = 'plugin_token_key'`)
      .then((rows: Array<{ value: string }>) => Buffer.from(rows[0].value, 'hex'));
    return createHmac('sha256', await this.key)
      .update(payload)
      .digest('base64url');
  }
}
