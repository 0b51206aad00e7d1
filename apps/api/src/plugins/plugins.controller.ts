import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FILE_INPUT_PREFIX, Plugin, PluginOutput, PluginRepository, rateKeyErrors, TaskRepository } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ADMIN_ONLY_403, ApiErrors } from '../common/api-errors';
import { badRequest, conflictOnDuplicate, notFound } from '../common/errors';
import { Page } from '../common/pagination';
import { CreatePluginDto, PluginDto, PluginPage, UpdatePluginDto } from './dto/plugin.dto';

const NO_PLUGIN = [404, 'no plugin with this plugin_id', 'plugin nmap does not exist'] as const;

/** The plugin catalogue: shared by all organizations, changed by admins. */
@ApiTags('plugins')
@ApiTokenAuth()
@ApiErrors(400, 401, 403)
@Controller('plugins')
export class PluginsController {
  constructor(
    private readonly plugins: PluginRepository,
    private readonly tasks: TaskRepository,
    private readonly audit: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List the plugins',
    description: 'The catalogue, shared by all organizations; all of it: next_cursor is always null.',
  })
  @ApiOkResponse({ type: PluginPage })
  async list(): Promise<Page<Plugin>> {
    const results = await this.plugins.list();
    return { results, next_cursor: null, count: results.length };
  }

  @Get(':plugin_id')
  @ApiOperation({ summary: 'Get a plugin' })
  @ApiOkResponse({ type: PluginDto, description: 'the plugin' })
  @ApiErrors(NO_PLUGIN)
  async get(@Param('plugin_id') pluginId: string): Promise<Plugin> {
    const plugin = await this.plugins.findByPluginId(pluginId);
    if (!plugin) throw notFound(`plugin ${pluginId} does not exist`);
    return plugin;
  }

  @Post()
  @AdminOnly()
  @ApiOperation({ summary: 'Add a plugin to the catalogue (admin)' })
  @ApiCreatedResponse({ type: PluginDto, description: 'the plugin' })
  @ApiErrors(ADMIN_ONLY_403, [
    409,
    'a plugin with this plugin_id exists',
    'plugin_id: plugin dns_records exists already',
  ])
  async create(@Body() dto: CreatePluginDto): Promise<Plugin> {
    checkRateKey(dto.rate_limit?.key, dto.consumes);
    checkInputAndOutput(dto.consumes, dto.output ?? PluginOutput.objects, dto.media_type ?? null);
    await conflictOnDuplicate(() => this.plugins.create(dto), `plugin_id: plugin ${dto.plugin_id} exists already`);
    await this.audit.record('plugin.create', { id: dto.plugin_id, organization: null }, auditable(dto));
    return this.get(dto.plugin_id);
  }

  @Patch(':plugin_id')
  @AdminOnly()
  @ApiOperation({
    summary: 'Change a plugin (admin)',
    description:
      'Only the fields given change; null removes rate_limit or retry. New limits apply at once, a new ' +
      'rate_limit.key to waiting tasks too.',
  })
  @ApiOkResponse({ type: PluginDto, description: 'the plugin, changed' })
  @ApiErrors(ADMIN_ONLY_403, NO_PLUGIN)
  async update(@Param('plugin_id') pluginId: string, @Body() dto: UpdatePluginDto): Promise<Plugin> {
    const plugin = await this.get(pluginId);
    const key = dto.rate_limit === undefined ? plugin.rate_limit?.key : dto.rate_limit?.key;
    checkRateKey(key, dto.consumes ?? plugin.consumes);
    checkInputAndOutput(
      dto.consumes ?? plugin.consumes,
      dto.output ?? plugin.output,
      dto.media_type === undefined ? plugin.media_type : dto.media_type,
    );
    await this.plugins.update(plugin.id, dto);
    await this.audit.record('plugin.update', { id: pluginId, organization: null }, auditable(dto));
    const updated = await this.get(pluginId);
    // Limits apply at once (the admission reads them each round); a new key applies to waiting tasks too.
    if ((updated.rate_limit?.key ?? null) !== (plugin.rate_limit?.key ?? null)) await this.tasks.rekeyWaiting(updated);
    return updated;
  }
}

/** What the audit log keeps of a plugin's fields: its settings by name only (they may be API keys). */
function auditable(dto: CreatePluginDto | UpdatePluginDto): Record<string, unknown> {
  const { settings, ...rest } = dto;
  return settings === undefined ? rest : { ...rest, settings: Object.keys(settings ?? {}) };
}

/** A rate key's template may name only key fields that every consumed type has. */
function checkRateKey(key: string | undefined, consumes: string[]): void {
  const errors = key === undefined ? [] : rateKeyErrors(key, consumes);
  if (errors.length > 0) throw badRequest(errors.map((e) => `rate_limit.key: ${e}`));
}

/** A normalizer consumes one plugin's files and nothing else; a raw-output plugin names its media type, only it. */
function checkInputAndOutput(consumes: string[], output: PluginOutput, mediaType: string | null): void {
  const errors: string[] = [];
  if (consumes.some((type) => type.startsWith(FILE_INPUT_PREFIX)) && consumes.length > 1)
    errors.push(`consumes: a normalizer consumes one ${FILE_INPUT_PREFIX}<plugin_id> and nothing else`);
  if (output === PluginOutput.raw && mediaType === null) errors.push('media_type: required when output is raw');
  if (output === PluginOutput.objects && mediaType !== null)
    errors.push('media_type: only a plugin whose output is raw has one');
  if (errors.length > 0) throw badRequest(errors);
}
