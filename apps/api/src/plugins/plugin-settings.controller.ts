import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PluginRepository, PluginSettingRepository, SecretsKeyMissingError } from '@kat/domain';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { badRequest, conflict, notFound } from '../common/errors';
import { requireOrganization } from '../tasks/tasks.service';
import {
  MAX_SETTING_BYTES,
  MAX_SETTINGS_PER_REQUEST,
  PluginSettingsView,
  SETTING_NAME,
  UpdatePluginSettingsDto,
} from './dto/plugin-settings.dto';

/**
 * An organization's own settings of a plugin (its API keys for external services), encrypted at
 * rest under SECRETS_KEY and given to the plugin's containers as KAT_SETTING_<NAME>. Their values
 * are write-only: no route returns them.
 */
@ApiTags('plugins')
@ApiTokenAuth()
@ApiErrors(400, 401, 403, [404, 'no plugin with this plugin_id', 'plugin nmap does not exist'])
@Controller('plugins/:plugin_id/settings')
export class PluginSettingsController {
  constructor(
    private readonly plugins: PluginRepository,
    private readonly settings: PluginSettingRepository,
    private readonly audit: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({
    summary: "List the organization's settings of a plugin",
    description: 'Their names only: values are never returned.',
  })
  @ApiOkResponse({ type: PluginSettingsView })
  async get(@CurrentCaller() caller: Caller, @Param('plugin_id') pluginId: string): Promise<PluginSettingsView> {
    const organizationId = requireOrganization(caller.scope);
    await this.requirePlugin(pluginId);
    return this.view(caller, pluginId, await this.settings.names(organizationId, pluginId));
  }

  @Patch()
  @ApiOperation({
    summary: "Set or delete the organization's settings of a plugin",
    description:
      'A string sets a setting, null deletes it; all or nothing, in one statement. Values are encrypted at ' +
      "rest and never returned; they override the plugin's settings of the same name in the organization's tasks.",
  })
  @ApiOkResponse({ type: PluginSettingsView })
  @ApiErrors([
    409,
    'a value is to be stored but SECRETS_KEY is not configured',
    'SECRETS_KEY is not configured: per-organization settings cannot be stored',
  ])
  async update(
    @CurrentCaller() caller: Caller,
    @Param('plugin_id') pluginId: string,
    @Body() dto: UpdatePluginSettingsDto,
  ): Promise<PluginSettingsView> {
    const organizationId = requireOrganization(caller.scope);
    const changes = validChanges(dto.settings);
    await this.requirePlugin(pluginId);
    let stored: PluginSettingsView['settings'];
    try {
      stored = await this.settings.change(organizationId, pluginId, changes);
    } catch (error) {
      if (error instanceof SecretsKeyMissingError) throw conflict(error.message);
      throw error;
    }
    // Which names were set or deleted, never a value.
    const changed = Object.fromEntries(
      Object.entries(changes).map(([name, v]) => [name, v === null ? 'deleted' : 'set']),
    );
    await this.audit.record(
      'plugin.settings.update',
      { id: pluginId, organization: caller.scope.organizationCode },
      changed,
    );
    return this.view(caller, pluginId, stored);
  }

  private async requirePlugin(pluginId: string): Promise<void> {
    if (!(await this.plugins.existsWithPluginId(pluginId))) throw notFound(`plugin ${pluginId} does not exist`);
  }

  private view(caller: Caller, pluginId: string, settings: PluginSettingsView['settings']): PluginSettingsView {
    return { plugin_id: pluginId, organization: caller.scope.organizationCode!, settings };
  }
}

const RULE = SETTING_NAME.source;

/** The request's settings, each name and value checked; a 400 lists every one that is not valid. */
function validChanges(settings: Record<string, unknown>): Record<string, string | null> {
  const entries = Object.entries(settings);
  if (entries.length > MAX_SETTINGS_PER_REQUEST)
    throw badRequest(`settings: at most ${MAX_SETTINGS_PER_REQUEST} names a request, not ${entries.length}`);
  const errors: string[] = [];
  for (const [name, value] of entries) {
    const field = `settings.${name.length > 80 ? `${name.slice(0, 80)}…` : name}`;
    if (!SETTING_NAME.test(name))
      errors.push(`${field}: a name is an upper-case letter, then up to 63 upper-case letters, digits or _ (${RULE})`);
    if (value !== null && (typeof value !== 'string' || Buffer.byteLength(value, 'utf8') > MAX_SETTING_BYTES))
      errors.push(`${field}: the value must be a string of at most ${MAX_SETTING_BYTES} bytes, or null to delete it`);
  }
  if (errors.length > 0) throw badRequest(errors);
  return settings as Record<string, string | null>;
}
