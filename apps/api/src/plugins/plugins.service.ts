import { Injectable } from '@nestjs/common';
import {
  FILE_INPUT_PREFIX,
  Plugin,
  PluginCatalogue,
  PluginOutput,
  PluginRepository,
  rateKeyErrors,
  TaskRepository,
} from '@kat/domain';
import { AuditTrail } from '../audit/audit-trail';
import { badRequest, conflictOnDuplicate, notFound } from '../common/errors';
import { CreatePluginDto, UpdatePluginDto } from './dto/plugin.dto';

/** The plugin catalogue's changes, the same from the API and from the plugins page: checked, applied, audited. */
@Injectable()
export class PluginsService {
  constructor(
    private readonly plugins: PluginRepository,
    private readonly catalogue: PluginCatalogue,
    private readonly tasks: TaskRepository,
    private readonly audit: AuditTrail,
  ) {}

  async get(pluginId: string): Promise<Plugin> {
    const plugin = await this.plugins.findByPluginId(pluginId);
    if (!plugin) throw notFound(`plugin ${pluginId} does not exist`);
    return plugin;
  }

  async create(dto: CreatePluginDto): Promise<Plugin> {
    checkRateKey(dto.rate_limit?.key, dto.consumes);
    checkInputAndOutput(dto.consumes, dto.output ?? PluginOutput.objects, dto.media_type ?? null);
    await conflictOnDuplicate(() => this.plugins.create(dto), `plugin_id: plugin ${dto.plugin_id} exists already`);
    // Its notice reaches this process's copy a moment later; the caller's next request must not wait for it.
    this.catalogue.forget();
    await this.audit.record('plugin.create', { id: dto.plugin_id, organization: null }, auditable(dto));
    return this.get(dto.plugin_id);
  }

  /** Only the fields given change; null removes rate_limit or retry. A new rate key applies to waiting tasks too. */
  async update(pluginId: string, dto: UpdatePluginDto): Promise<Plugin> {
    const plugin = await this.get(pluginId);
    const key = dto.rate_limit === undefined ? plugin.rate_limit?.key : dto.rate_limit?.key;
    checkRateKey(key, dto.consumes ?? plugin.consumes);
    checkInputAndOutput(
      dto.consumes ?? plugin.consumes,
      dto.output ?? plugin.output,
      dto.media_type === undefined ? plugin.media_type : dto.media_type,
    );
    await this.plugins.update(plugin.id, dto);
    this.catalogue.forget();
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

/** A normalizer consumes one plugin's files, nothing else, and prints objects; only raw output has a media type. */
function checkInputAndOutput(consumes: string[], output: PluginOutput, mediaType: string | null): void {
  const errors: string[] = [];
  const normalizer = consumes.some((type) => type.startsWith(FILE_INPUT_PREFIX));
  if (normalizer && consumes.length > 1)
    errors.push(`consumes: a normalizer consumes one ${FILE_INPUT_PREFIX}<plugin_id> and nothing else`);
  // Else files would chain into files for ever (a plugin of its own files, or two of each other's).
  if (normalizer && output === PluginOutput.raw) errors.push('output: a normalizer prints objects, not raw output');
  if (output === PluginOutput.raw && mediaType === null) errors.push('media_type: required when output is raw');
  if (output === PluginOutput.objects && mediaType !== null)
    errors.push('media_type: only a plugin whose output is raw has one');
  if (errors.length > 0) throw badRequest(errors);
}
