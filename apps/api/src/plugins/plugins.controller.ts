import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Plugin, PluginRepository } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';
import { conflict, notFound } from '../common/errors';
import { CreatePluginDto, UpdatePluginDto } from './dto/plugin.dto';

/** The plugin catalogue: shared by all organizations, changed by admins. */
@ApiTags('plugins')
@ApiBearerAuth()
@Controller('plugins')
export class PluginsController {
  constructor(private readonly plugins: PluginRepository) {}

  @Get()
  async list(): Promise<{ results: Plugin[]; next_cursor: null; count: number }> {
    const results = await this.plugins.list();
    return { results, next_cursor: null, count: results.length };
  }

  @Get(':plugin_id')
  async get(@Param('plugin_id') pluginId: string): Promise<Plugin> {
    const plugin = await this.plugins.findByPluginId(pluginId);
    if (!plugin) throw notFound(`plugin ${pluginId} does not exist`);
    return plugin;
  }

  @Post()
  @AdminOnly()
  async create(@Body() dto: CreatePluginDto): Promise<Plugin> {
    if (await this.plugins.existsWithPluginId(dto.plugin_id)) {
      throw conflict(`plugin_id: plugin ${dto.plugin_id} exists already`);
    }
    await this.plugins.create(dto);
    return this.get(dto.plugin_id);
  }

  @Patch(':plugin_id')
  @AdminOnly()
  async update(@Param('plugin_id') pluginId: string, @Body() dto: UpdatePluginDto): Promise<Plugin> {
    const plugin = await this.get(pluginId);
    await this.plugins.update(plugin.id, dto);
    return this.get(pluginId);
  }
}
