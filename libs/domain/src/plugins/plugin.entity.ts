import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * `key` is a literal ("shodan.io": one external API) or a template over the input's key fields
 * ("{address}": one target host); either number may be left out.
 */
export interface RateLimit {
  key: string;
  concurrency?: number;
  per_minute?: number;
}

export enum PluginOutput {
  objects = 'objects',
  raw = 'raw',
}

/** The consumes entry of a normalizer of `pluginId`'s raw output. */
export const FILE_INPUT_PREFIX = 'file:';

/** The plugin whose raw output a normalizer consumes, or null for a plugin that takes objects. */
export function consumedFile(consumes: readonly string[]): string | null {
  const entry = consumes.find((type) => type.startsWith(FILE_INPUT_PREFIX));
  return entry === undefined ? null : entry.slice(FILE_INPUT_PREFIX.length);
}

export interface RetryPolicy {
  max_attempts: number;
  backoff_seconds: number;
}

/** A program in an OCI image that takes one input object and produces objects. */
@Entity('plugin')
export class Plugin {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 64, unique: true })
  plugin_id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text', default: '' })
  description: string;

  @Column({ type: 'text' })
  image: string;

  /** argv of the container; `{input}` and the input object's key fields are substituted. */
  @Column({ type: 'jsonb' })
  command: string[];

  /** Object types it takes as input; a normalizer takes `file:<plugin_id>`, that plugin's raw output. */
  @Column({ type: 'text', array: true })
  consumes: string[];

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  produces: string[];

  /** What its stdout is: objects (JSON lines) or raw output of `media_type`, kept as the task's file. */
  @Column({ type: 'text', default: PluginOutput.objects })
  output: PluginOutput;

  @Column({ type: 'text', nullable: true })
  media_type: string | null;

  @Column({ type: 'int', default: 300 })
  timeout_seconds: number;

  @Column({ type: 'int', default: 256 })
  memory_mb: number;

  /** Linux capabilities the plugin needs beyond none at all (e.g. NET_RAW for ping). */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  cap_add: string[];

  /** Plugin-specific settings, passed to the container as KAT_SETTING_<NAME> variables. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  settings: Record<string, string>;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  /** Tasks whose resolved keys are equal share these limits, across workers and organizations. */
  @Column({ type: 'jsonb', nullable: true })
  rate_limit: RateLimit | null;

  /** Plugin failures (non-zero exit, timeout) are retried after a back-off, up to max_attempts in all. */
  @Column({ type: 'jsonb', nullable: true })
  retry: RetryPolicy | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
