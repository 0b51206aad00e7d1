import { createHash, randomBytes } from 'node:crypto';

const TOKEN_PREFIX = 'kat_';

/** A new random API token secret: 32 bytes of entropy, so a fast hash is enough to store it. */
export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
