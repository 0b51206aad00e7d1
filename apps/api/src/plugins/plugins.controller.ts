import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { InjectRepository } from '@nestjs/typeorm';
import { Plugin } from '@kat/domain';
import { Repository } from 'typeorm';
import { AdminOnly } from '../auth/authenticated';
import { conflict, notFound } from '../common/errors';
import { CreatePluginDto, UpdatePluginDto } from './dto/plugin.dto';

/** The plugin catalogue: shared by all organizations, changed by admins. */
@ApiTags('plugins')
@ApiBearerAuth()
@Controller('plugins')
export class PluginsController {
  constructor(@InjectRepository(Plugin) private readonly plugins: Repository<Plugin>) {}

  @Get()
  async list(): Promise<{ results: Plugin[]; next_cursor: null; count: number }> {
    const results = await this.plugins.find({ order: { plugin_id: 'ASC' } });
    return { results, next_cursor: null, count: results.length };
  }

  @Get(':plugin_id')
  async get(@Param('plugin_id') pluginId: string): Promise<Plugin> {
    const plugin = await this.plugins.findOneBy({ plugin_id: pluginId });
    if (!plugin) throw notFound(`plugin ${pluginId} does not exist`);
    return plugin;
  }

  @Post()
  @AdminOnly()
  async create(@Body() dto: CreatePluginDto): Promise<Plugin> {
    if (await this.plugins.existsBy({ plugin_id: dto.plugin_id })) throw conflict(`plugin_id: plugin ${dto.plugin_id} exists already`);
    await this.plugins.insert(dto);
    return this.get(dto.plugin_id);
  }

  @Patch(':plugin_id')
  @AdminOnly()
  async update(@Param('plugin_id') pluginId: string, @Body() dto: UpdatePluginDto): Promise<Plugin> {
    const plugin = await this.get(pluginId);
    await this.plugins.update({ id: plugin.id }, dto);
    return this.get(pluginId);
  }
}
