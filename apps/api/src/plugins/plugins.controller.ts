import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Plugin, PluginRepository } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ADMIN_ONLY_403, ApiErrors } from '../common/api-errors';
import { Page } from '../common/pagination';
import { CreatePluginDto, PluginDto, PluginPage, UpdatePluginDto } from './dto/plugin.dto';
import { PluginsService } from './plugins.service';

const NO_PLUGIN = [404, 'no plugin with this plugin_id', 'plugin nmap does not exist'] as const;

/** The plugin catalogue: shared by all organizations, changed by admins. */
@ApiTags('plugins')
@ApiTokenAuth()
@ApiErrors(400, 401, 403)
@Controller('plugins')
export class PluginsController {
  constructor(
    private readonly plugins: PluginRepository,
    private readonly service: PluginsService,
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
  get(@Param('plugin_id') pluginId: string): Promise<Plugin> {
    return this.service.get(pluginId);
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
  create(@Body() dto: CreatePluginDto): Promise<Plugin> {
    return this.service.create(dto);
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
  update(@Param('plugin_id') pluginId: string, @Body() dto: UpdatePluginDto): Promise<Plugin> {
    return this.service.update(pluginId, dto);
  }
}
