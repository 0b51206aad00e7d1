import { Injectable } from '@nestjs/common';
import { DataSource, In, Repository } from 'typeorm';
import { MicroBatcher } from '../tasks/micro-batcher';
import { Plugin } from './plugin.entity';

/** A plugin as it is created: its id and whatever else is not left to the defaults. */
export type NewPlugin = Pick<Plugin, 'plugin_id'> & Partial<Plugin>;

/** The plugin catalogue, shared by every organization. */
@Injectable()
export class PluginRepository {
  /** Lookups made at the same moment (concurrent POST /tasks/) share one query. */
  private readonly lookups = new MicroBatcher((ids: string[]) => this.findEach(ids), { maxBatch: 500, maxInFlight: 2 });

  constructor(private readonly db: DataSource) {}

  /** Every plugin, by plugin_id. */
  list(): Promise<Plugin[]> {
    return this.plugins.find({ order: { plugin_id: 'ASC' } });
  }

  /**
   * The plugin with that id, or null. Per task created: served by plugin's unique plugin_id. Lookups at
   * the same moment share one query and may share the object: read it, do not change it.
   */
  findByPluginId(pluginId: string): Promise<Plugin | null> {
    return this.lookups.submit(pluginId);
  }

  private async findEach(pluginIds: string[]): Promise<Array<Plugin | null>> {
    const found = new Map((await this.findByPluginIds([...new Set(pluginIds)])).map((p) => [p.plugin_id, p]));
    return pluginIds.map((id) => found.get(id) ?? null);
  }

  /** The plugins among those ids (those that exist, in no order). Per bulk request: plugin's unique plugin_id. */
  findByPluginIds(pluginIds: string[]): Promise<Plugin[]> {
    return this.plugins.findBy({ plugin_id: In(pluginIds) });
  }

  /** Whether a plugin has that id. */
  existsWithPluginId(pluginId: string): Promise<boolean> {
    return this.plugins.existsBy({ plugin_id: pluginId });
  }

  /** Inserts a plugin; the columns not given take their defaults. */
  async create(plugin: NewPlugin): Promise<void> {
    await this.plugins.insert(plugin);
  }

  /** Changes a plugin's fields, by its row id. */
  async update(id: number, change: Partial<Plugin>): Promise<void> {
    await this.plugins.update({ id }, change);
  }

  private get plugins(): Repository<Plugin> {
    return this.db.getRepository(Plugin);
  }
}
