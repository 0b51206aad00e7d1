import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * The web pages' sessions: a random id in the browser's cookie, its SHA-256 here with the token it
 * stands for. A session ends when it expires, at sign-out, or when its token is revoked.
 */
@Injectable()
export class WebSessionRepository {
  constructor(private readonly db: DataSource) {}

  /** Starts a session of `tokenId` for `seconds`, and drops the sessions that have expired. */
  async create(sessionHash: string, tokenId: number, seconds: number): Promise<void> {
    await this.db.query(
      `WITH expired AS (DELETE FROM web_session WHERE expires_at < now())
       INSERT INTO web_session (id_hash, token_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`,
      [sessionHash, tokenId, seconds],
    );
  }

  async delete(sessionHash: string): Promise<void> {
    await this.db.query(`DELETE FROM web_session WHERE id_hash = $1`, [sessionHash]);
  }
}
