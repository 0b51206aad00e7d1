import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { KAT_SETTINGS, KatSettings } from '../config/settings';
import { settingAad, SettingDecryptionError, SettingsCipher } from './settings-cipher';

/** What anyone may see of a setting: its name and when it was last set. Never its value. */
export interface PluginSettingName {
  name: string;
  updated_at: Date;
}

/** A setting as a plugin task's claim reads it: sealed (`value_encrypted` in hex). */
export interface SealedPluginSetting {
  name: string;
  value_encrypted: string;
  key_id: string;
}

/** A value is to be stored but no SECRETS_KEY is configured: nothing is changed. */
export class SecretsKeyMissingError extends Error {
  constructor() {
    super('SECRETS_KEY is not configured: per-organization settings cannot be stored');
  }
}

/**
 * An organization's own settings of a plugin (its API keys for external services), sealed under
 * SECRETS_KEY (settings-cipher.ts) before they reach PostgreSQL and opened only by the worker that
 * runs the plugin. Every statement is served by the primary key (organization_id, plugin_id, name).
 * A plugin task reads its settings in its claim (TaskRepository.claim), not here.
 */
@Injectable()
export class PluginSettingRepository {
  private readonly cipher: SettingsCipher | null;

  constructor(
    private readonly db: DataSource,
    @Inject(KAT_SETTINGS) settings: KatSettings,
  ) {
    this.cipher = settings.SECRETS_KEY ? new SettingsCipher(settings.SECRETS_KEY) : null;
  }

  /** The names of an organization's settings of a plugin, by name. */
  names(organizationId: number, pluginId: string): Promise<PluginSettingName[]> {
    return this.db.query(
      `SELECT name, updated_at FROM plugin_setting WHERE organization_id = $1 AND plugin_id = $2 ORDER BY name`,
      [organizationId, pluginId],
    );
  }

  /**
   * Sets (a string) and deletes (null) an organization's settings of a plugin, in one statement;
   * returns the names as they are then. Throws SecretsKeyMissingError, changing nothing, when a
   * value is to be stored and no SECRETS_KEY is configured.
   */
  async change(
    organizationId: number,
    pluginId: string,
    changes: Record<string, string | null>,
  ): Promise<PluginSettingName[]> {
    const entries = Object.entries(changes);
    const deleted = entries.filter(([, value]) => value === null).map(([name]) => name);
    const set = entries.filter((entry): entry is [string, string] => entry[1] !== null);
    if (set.length > 0 && !this.cipher) throw new SecretsKeyMissingError();
    const sealed = set.map(([name, value]) => this.cipher!.seal(value, settingAad(organizationId, pluginId, name)));
    // The statement's snapshot does not see its own writes: the names kept are those it did not
    // touch, and those it set (RETURNING).
    return this.db.query(
      `WITH gone AS (
         DELETE FROM plugin_setting
         WHERE organization_id = $1 AND plugin_id = $2 AND name = ANY($3::text[])),
       stored AS (
         INSERT INTO plugin_setting (organization_id, plugin_id, name, value_encrypted, key_id)
         SELECT $1, $2, s.name, s.value, $6 FROM unnest($4::text[], $5::bytea[]) AS s (name, value)
         ON CONFLICT (organization_id, plugin_id, name) DO UPDATE
           SET value_encrypted = EXCLUDED.value_encrypted, key_id = EXCLUDED.key_id, updated_at = now()
         RETURNING name, updated_at)
       SELECT name, updated_at FROM stored
       UNION ALL
       SELECT name, updated_at FROM plugin_setting
       WHERE organization_id = $1 AND plugin_id = $2 AND name <> ALL($3::text[]) AND name <> ALL($4::text[])
       ORDER BY name`,
      [organizationId, pluginId, deleted, set.map(([name]) => name), sealed, this.cipher?.keyId ?? ''],
    );
  }

  /**
   * The values of settings a claim read for (organization, plugin), by name. Throws
   * SettingDecryptionError naming the setting when one cannot be opened.
   */
  open(organizationId: number, pluginId: string, sealed: SealedPluginSetting[]): Record<string, string> {
    const values: Record<string, string> = {};
    for (const setting of sealed) {
      if (!this.cipher)
        throw new SettingDecryptionError(
          `setting ${setting.name} cannot be decrypted: SECRETS_KEY is not configured on this worker`,
        );
      try {
        values[setting.name] = this.cipher.open(
          Buffer.from(setting.value_encrypted, 'hex'),
          setting.key_id,
          settingAad(organizationId, pluginId, setting.name),
        );
      } catch (error) {
        if (error instanceof SettingDecryptionError)
          throw new SettingDecryptionError(`setting ${setting.name} cannot be decrypted: ${error.message}`);
        throw error;
      }
    }
    return values;
  }
}
