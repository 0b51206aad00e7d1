import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API tokens get a lifecycle: an access level (read, write, admin), an optional expiry, the time
 * of last use, and revocation (the row is kept, so the audit log's actor still names it). The web
 * pages' session cookie holds a random session id of its own (stored hashed), no longer the token.
 */
export class TokenLifecycle1764220000000 implements MigrationInterface {
  name = 'TokenLifecycle1764220000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_token
      ADD COLUMN access text NOT NULL DEFAULT 'write' CHECK (access IN ('read', 'write', 'admin')),
      ADD COLUMN expires_at timestamptz,
      ADD COLUMN last_used_at timestamptz,
      ADD COLUMN revoked_at timestamptz`);
    // Admin tokens keep what they could do; organization tokens could write, and still can.
    await q.query(`UPDATE api_token SET access = 'admin' WHERE is_admin`);
    // A token list is an organization's tokens, newest first.
    await q.query(`CREATE INDEX api_token_organization ON api_token (organization_id, id DESC)`);
    await q.query(`CREATE TABLE web_session (
      id_hash char(64) PRIMARY KEY,
      token_id int NOT NULL REFERENCES api_token (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    )`);
    await q.query(`CREATE INDEX web_session_token ON web_session (token_id)`);
    await q.query(`CREATE INDEX web_session_expires ON web_session (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE web_session`);
    await q.query(`DROP INDEX api_token_organization`);
    await q.query(`ALTER TABLE api_token DROP COLUMN access, DROP COLUMN expires_at, DROP COLUMN last_used_at,
                   DROP COLUMN revoked_at`);
  }
}
