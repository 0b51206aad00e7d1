import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { KAT_SETTINGS, KatSettings } from '../config/settings';
import { Plugin } from './plugin.entity';
import { PluginRepository } from './plugin.repository';

const CHANNEL = 'kat_plugin_changed';
/** A bound on a copy's age, should notices stop without the connection failing. */
const KEEP_MS = 60_000;
const RECONNECT_MS = 1_000;

/**
 * The plugin catalogue as one process last read it, for what every POST /tasks/ checks (the
 * plugin exists, is enabled, consumes the input): a lookup per request was a round trip every
 * request waited for. Kept current by PostgreSQL's notices: every change to the plugin table
 * announces itself when it commits (the PluginChangeNotice migration), and a notice drops the whole
 * copy. So another process's change reaches this one within the notice's delivery, as a lookup made
 * a moment before the change would have missed it too. While this process is not listening
 * (starting, or its connection lost) nothing is kept: every lookup asks PostgreSQL.
 */
@Injectable()
export class PluginCatalogue implements OnModuleDestroy {
  private readonly logger = new Logger(PluginCatalogue.name);
  private readonly known = new Map<string, { plugin: Plugin | null; until: number }>();
  /** Moves on with every notice and every change of connection: a lookup begun before it is not kept. */
  private generation = 0;
  private listener: Client | null = null;
  private listening = false;
  private closed = false;

  constructor(
    private readonly plugins: PluginRepository,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  /** The plugin with that id, or null. Shared by many requests: read it, do not change it. */
  async find(pluginId: string): Promise<Plugin | null> {
    if (!this.listener && !this.closed) this.listen();
    const copy = this.known.get(pluginId);
    if (this.listening && copy && copy.until > Date.now()) return copy.plugin;
    const generation = this.generation;
    const plugin = await this.plugins.findByPluginId(pluginId);
    // Kept while not listening too, but read only once listening again, which starts from nothing.
    if (generation === this.generation) this.known.set(pluginId, { plugin, until: Date.now() + KEEP_MS });
    return plugin;
  }

  /** The catalogue changed (a notice, or this process's own write): nothing read before is kept. */
  forget(): void {
    this.generation++;
    this.known.clear();
  }

  private listen(): void {
    const client = new Client({
      connectionString: this.settings.DATABASE_URL,
      application_name: 'kat-plugin-catalogue',
      keepAlive: true,
    });
    this.listener = client;
    const lost = (error?: Error) => {
      if (this.listener !== client) return;
      this.listener = null;
      this.listening = false;
      this.forget();
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.logger.warn(`not listening for plugin changes (${error?.message ?? 'connection ended'}); retrying`);
      setTimeout(() => {
        if (!this.listener && !this.closed) this.listen();
      }, RECONNECT_MS).unref();
    };
    client.on('notification', () => this.forget());
    client.on('error', lost);
    client.on('end', () => lost());
    client
      .connect()
      .then(() => client.query(`LISTEN ${CHANNEL}`))
      .then(() => {
        if (this.listener !== client) return;
        // What was read before this moment may predate a change no notice will report.
        this.forget();
        this.listening = true;
      })
      .catch(lost);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    const client = this.listener;
    this.listener = null;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }
}
