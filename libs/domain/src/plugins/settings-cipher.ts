import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** SECRETS_KEY: 32 bytes as 64 hex characters, or as (canonical) base64 (`openssl rand -base64 32`). */
export const SECRETS_KEY_PATTERN = /^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=?)$/;

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A stored setting that cannot be opened: no key, another key, or not what was sealed for its row. */
export class SettingDecryptionError extends Error {}

/** What binds a sealed value to its row: moved to another organization, plugin or name, it does not open. */
export function settingAad(organizationId: number, pluginId: string, name: string): string {
  return `${organizationId}:${pluginId}:${name}`;
}

/**
 * AES-256-GCM under SECRETS_KEY. A sealed value is nonce (12 random bytes) ‖ ciphertext ‖ tag (16
 * bytes), authenticated together with its row's identity (`settingAad`). `keyId` (the first 16 hex
 * characters of SHA-256 of the key) is stored beside each value, so a value sealed under another
 * key is named as such rather than failing as if it were damaged.
 */
export class SettingsCipher {
  readonly keyId: string;
  private readonly key: Buffer;

  constructor(secretsKey: string) {
    if (!SECRETS_KEY_PATTERN.test(secretsKey))
      throw new Error('SECRETS_KEY must be 32 bytes: 64 hex characters or base64 (openssl rand -hex 32)');
    this.key = Buffer.from(secretsKey, secretsKey.length === 64 ? 'hex' : 'base64');
    this.keyId = createHash('sha256').update(this.key).digest('hex').slice(0, 16);
  }

  seal(value: string, aad: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]);
  }

  /** The value sealed for `aad`; throws SettingDecryptionError, saying why, if it cannot be. */
  open(sealed: Buffer, keyId: string, aad: string): string {
    if (keyId !== this.keyId)
      throw new SettingDecryptionError(
        `it was encrypted under key ${keyId}, but SECRETS_KEY is key ${this.keyId}: ` +
          'configure the key it was stored with, or set it again',
      );
    if (sealed.length < NONCE_BYTES + TAG_BYTES)
      throw new SettingDecryptionError(`the stored value is ${sealed.length} bytes, too short to be sealed`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      const ciphertext = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SettingDecryptionError(
        `it does not decrypt under SECRETS_KEY (key ${this.keyId}): ` +
          'the stored value was altered or belongs to another row',
      );
    }
  }
}
