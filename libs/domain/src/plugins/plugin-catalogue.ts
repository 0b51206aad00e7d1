import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { KAT_SETTINGS, KatSettings } from '../config/settings';
import { Plugin } from './plugin.entity';
import { PluginRepository } from './plugin.repository';

const CHANNEL = 'kat_plugin_changed';
/** A bound on a copy's age, should notices stop in a way the checks below miss. */
const KEEP_MS = 60_000;
const RECONNECT_MS = 1_000;
/** The listening connection is asked something this often: a silent one is found out and dropped. */
const CHECK_EVERY_MS = 20_000;
const QUERY_TIMEOUT_MS = 5_000;
/** Shutdown does not wait longer than this for a dead connection's polite end. */
const END_WAIT_MS = 1_000;

/**
 * The whole plugin catalogue as one process last read it, for what every POST /tasks/ checks (the
 * plugin exists, is enabled, consumes the input): a lookup per request was a round trip every
 * request waited for. Kept current by PostgreSQL's notices: every change to the plugin table
 * announces itself when it commits (the PluginChangeNotice migration), and a notice drops the copy.
 * So another process's change reaches this one within the notice's delivery, as a lookup made a
 * moment before the change would have missed it too. While this process is not listening (starting,
 * or its connection lost or silent) no copy is used: every lookup asks PostgreSQL for its plugin.
 * The copy is the whole table, so its size is the catalogue's, whatever ids requests name.
 */
@Injectable()
export class PluginCatalogue implements OnModuleDestroy {
  private readonly logger = new Logger(PluginCatalogue.name);
  private copy: { plugins: Map<string, Plugin>; until: number } | null = null;
  /** The read of the whole table under way, shared by the lookups that need it. */
  private reading: { generation: number; plugins: Promise<Map<string, Plugin>> } | null = null;
  /** Moves on with every drop: a read begun before it is not kept. */
  private generation = 0;
  private listener: Client | null = null;
  private listening = false;
  private check: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly plugins: PluginRepository,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  /** The plugin with that id, or null. Shared by many requests: read it, do not change it. */
  async find(pluginId: string): Promise<Plugin | null> {
    if (!this.listener && !this.retry && !this.closed) this.listen();
    if (!this.listening) return this.plugins.findByPluginId(pluginId);
    const plugins = this.copy && this.copy.until > Date.now() ? this.copy.plugins : await this.read();
    return plugins.get(pluginId) ?? null;
  }

  /** The catalogue changed (a notice, or this process's own write): nothing read before is used. */
  forget(): void {
    this.generation++;
    this.copy = null;
  }

  private read(): Promise<Map<string, Plugin>> {
    if (this.reading?.generation === this.generation) return this.reading.plugins;
    const generation = this.generation;
    const plugins = this.plugins.list().then((all) => {
      const read = new Map(all.map((plugin) => [plugin.plugin_id, plugin]));
      if (generation === this.generation) this.copy = { plugins: read, until: Date.now() + KEEP_MS };
      return read;
    });
    const reading = { generation, plugins };
    this.reading = reading;
    const done = () => {
      if (this.reading === reading) this.reading = null;
    };
    plugins.then(done, done);
    return plugins;
  }

  private listen(): void {
    const client = new Client({
      connectionString: this.settings.DATABASE_URL,
      application_name: 'kat-plugin-catalogue',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: QUERY_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
    });
    this.listener = client;
    const lost = (error?: Error) => {
      if (this.listener !== client) return;
      void this.stopListening();
      if (this.closed) return;
      this.logger.warn(`not listening for plugin changes (${error?.message ?? 'connection ended'}); retrying`);
      this.retry = setTimeout(() => {
        this.retry = null;
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
        // Nothing read earlier is kept: the copy is read only while listening, and dropped when that stops.
        this.listening = true;
        this.check = setInterval(() => client.query('SELECT 1').catch(lost), CHECK_EVERY_MS).unref();
      })
      .catch(lost);
  }

  /** Drops the listening connection, if any: resolves once it has ended. */
  private stopListening(): Promise<void> {
    const client = this.listener;
    this.listener = null;
    this.listening = false;
    if (this.check) clearInterval(this.check);
    this.check = null;
    this.forget();
    return client ? ended(client) : Promise.resolve();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    await this.stopListening();
  }
}

/** Ends a connection politely, or cuts it after END_WAIT_MS (a dead socket never answers). */
async function ended(client: Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      resolve();
    }, END_WAIT_MS).unref();
  });
  await Promise.race([client.end().catch(() => undefined), cut]);
  clearTimeout(timer);
}
