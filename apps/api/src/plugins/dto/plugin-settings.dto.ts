import { ApiProperty } from '@nestjs/swagger';
import { IsObject } from 'class-validator';

export const SETTING_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
export const MAX_SETTING_BYTES = 4096;
export const MAX_SETTINGS_PER_REQUEST = 50;

export class UpdatePluginSettingsDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', nullable: true, maxLength: MAX_SETTING_BYTES },
    example: { API_KEY: 'your-key-for-the-service', OLD_KEY: null },
    description:
      `name → value (a string of at most ${MAX_SETTING_BYTES} bytes) or null to delete it; names match ` +
      `${SETTING_NAME.source}, at most ${MAX_SETTINGS_PER_REQUEST} a request. The plugin gets KAT_SETTING_<NAME>.`,
  })
  @IsObject({ message: 'settings must be an object of names and values (or null)' })
  settings: Record<string, unknown>;
}

export class PluginSettingNameView {
  @ApiProperty({ example: 'API_KEY' })
  name: string;

  @ApiProperty({ type: String, format: 'date-time' })
  updated_at: Date;
}

/** An organization's settings of a plugin: their names only, never their values. */
export class PluginSettingsView {
  @ApiProperty({ example: 'shodan' })
  plugin_id: string;

  @ApiProperty({ example: 'acme', description: 'the organization whose settings these are' })
  organization: string;

  @ApiProperty({ type: [PluginSettingNameView] })
  settings: PluginSettingNameView[];
}
