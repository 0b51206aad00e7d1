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

  @Column({ type: 'text', array: true })
  consumes: string[];

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  produces: string[];

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
