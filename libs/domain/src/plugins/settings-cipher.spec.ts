import { createHash, randomBytes } from 'node:crypto';
import { settingAad, SettingDecryptionError, SettingsCipher, SECRETS_KEY_PATTERN } from './settings-cipher';

describe('SettingsCipher', () => {
  const hexKey = randomBytes(32).toString('hex');
  const cipher = new SettingsCipher(hexKey);
  const aad = settingAad(7, 'shodan', 'API_KEY');

  it('round-trips a value, with a fresh nonce each time, and never stores it in the clear', () => {
    const value = 'sk-live-ünïcode-' + randomBytes(16).toString('hex');
    const first = cipher.seal(value, aad);
    const second = cipher.seal(value, aad);
    expect(cipher.open(first, cipher.keyId, aad)).toBe(value);
    expect(cipher.open(second, cipher.keyId, aad)).toBe(value);
    expect(first.equals(second)).toBe(false);
    // nonce (12) + ciphertext (as long as the UTF-8 value) + tag (16)
    expect(first.length).toBe(12 + Buffer.byteLength(value) + 16);
    expect(first.toString('latin1')).not.toContain(value.slice(0, 8));
    expect(cipher.open(cipher.seal('', aad), cipher.keyId, aad)).toBe('');
  });

  it('names its key by the first 16 hex characters of its SHA-256', () => {
    expect(cipher.keyId).toBe(createHash('sha256').update(Buffer.from(hexKey, 'hex')).digest('hex').slice(0, 16));
  });

  it('reads the same key from hex and from base64', () => {
    const key = randomBytes(32);
    const fromHex = new SettingsCipher(key.toString('hex'));
    const fromBase64 = new SettingsCipher(key.toString('base64'));
    const unpadded = new SettingsCipher(key.toString('base64').replace(/=$/, ''));
    expect(fromBase64.keyId).toBe(fromHex.keyId);
    expect(unpadded.keyId).toBe(fromHex.keyId);
    expect(fromBase64.open(fromHex.seal('x', aad), fromHex.keyId, aad)).toBe('x');
  });

  it.each([
    ['too short', randomBytes(31).toString('hex')],
    ['too long', randomBytes(33).toString('hex')],
    ['base64 of 31 bytes', randomBytes(31).toString('base64')],
    ['base64 of 33 bytes', randomBytes(33).toString('base64')],
    ['not base64', '!'.repeat(44)],
    ['a passphrase', 'correct horse battery staple'],
  ])('refuses a key that is %s', (_, key) => {
    expect(SECRETS_KEY_PATTERN.test(key)).toBe(false);
    expect(() => new SettingsCipher(key)).toThrow(/^SECRETS_KEY must be 32 bytes/);
  });

  it('refuses a value sealed under another key, naming both keys', () => {
    const other = new SettingsCipher(randomBytes(32).toString('hex'));
    const sealed = other.seal('secret', aad);
    expect(() => cipher.open(sealed, other.keyId, aad)).toThrow(SettingDecryptionError);
    expect(() => cipher.open(sealed, other.keyId, aad)).toThrow(
      `it was encrypted under key ${other.keyId}, but SECRETS_KEY is key ${cipher.keyId}`,
    );
    // Even under the right key id, the wrong key does not open it.
    expect(() => cipher.open(sealed, cipher.keyId, aad)).toThrow(/does not decrypt under SECRETS_KEY/);
  });

  it.each([
    ['another organization', settingAad(8, 'shodan', 'API_KEY')],
    ['another plugin', settingAad(7, 'shodan2', 'API_KEY')],
    ['another name', settingAad(7, 'shodan', 'API_KEY2')],
  ])("refuses a value moved to %s's row", (_, otherAad) => {
    const sealed = cipher.seal('secret', aad);
    expect(() => cipher.open(sealed, cipher.keyId, otherAad)).toThrow(
      /does not decrypt under SECRETS_KEY .*: the stored value was altered or belongs to another row/,
    );
  });

  it('refuses a value with any byte changed: nonce, ciphertext or tag', () => {
    const sealed = cipher.seal('a secret of some length', aad);
    for (const at of [0, 11, 12, sealed.length - 17, sealed.length - 16, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[at] ^= 0x01;
      expect(() => cipher.open(tampered, cipher.keyId, aad)).toThrow(SettingDecryptionError);
    }
    expect(() => cipher.open(sealed.subarray(0, 27), cipher.keyId, aad)).toThrow(/too short to be sealed/);
    expect(() => cipher.open(sealed.subarray(0, sealed.length - 1), cipher.keyId, aad)).toThrow(SettingDecryptionError);
  });
});
