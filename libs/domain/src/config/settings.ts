import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, validateSync } from 'class-validator';
import { SECRETS_KEY_PATTERN } from '../plugins/settings-cipher';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const toBool = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : ['1', 'true', 'yes', 'on'].includes(String(value).toLowerCase());

/**
 * Every setting the three apps and the CLI read, from the environment, validated at start-up:
 * a bad value stops the process with a message naming the variable.
 */
export class KatSettings {
  @IsString()
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/kat';

  @IsString()
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Prefix of every Bull key in Redis, so several deployments (or test runs) can share one Redis. */
  @Matches(/^[A-Za-z0-9:_-]+$/)
  QUEUE_PREFIX = 'kat';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  /** Worker and scheduler: port of their optional health endpoint; 0 opens none. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  HEALTH_PORT = 0;

  /** The container engine: a Docker-API socket path, or DOCKER_HOST (tcp://… or unix://…). */
  @IsString()
  DOCKER_SOCKET = '/var/run/docker.sock';

  @IsOptional()
  @IsString()
  DOCKER_HOST?: string;

  /** Base URL plugins use to call the API back, ending in /api/v1. */
  @IsUrl({ require_tld: false, require_protocol: true })
  PLUGIN_API_URL = 'http://127.0.0.1:3000/api/v1';

  /**
   * container: each plugin in a container (always, in production). For benchmarks only: process,
   * a bare child process; noop, nothing is run and every plugin "succeeds" at once.
   */
  @IsIn(['container', 'process', 'noop'])
  PLUGIN_RUNNER: 'container' | 'process' | 'noop' = 'container';

  /** Docker network mode of plugin containers: a network name, `bridge`, `host` or `none`. */
  @IsString()
  PLUGIN_NETWORK = 'bridge';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  WORKER_CONCURRENCY = 4;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  HEARTBEAT_INTERVAL_MS = 5000;

  /** A RUNNING task whose heartbeat is older than this is handed back (or failed) by the reconciler. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  STALE_AFTER_SECONDS = 60;

  /**
   * How often a worker removes plugin containers whose run no longer holds its task (left by a
   * worker killed outright); unset: every STALE_AFTER_SECONDS, when such tasks are handed back;
   * 0: never, not even at start.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  REAP_INTERVAL_SECONDS?: number;

  /** A PENDING task older than this that is missing from the queue is queued again. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  REQUEUE_AFTER_SECONDS = 30;

  /** Claims of one task before a dead worker's task is failed instead of handed back. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  MAX_ATTEMPTS = 3;

  /** How often each worker runs an admission round when nothing else prompts one (a task ending does). */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  ADMIT_INTERVAL_MS = 200;

  /** Admitted-or-running plugin tasks per worker slot: 2 keeps one job ready in Redis for each busy slot. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10)
  TASKS_PER_SLOT = 2;

  /** The window of a plugin's `rate_limit.per_minute`: 60 s (tests shorten it). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_WINDOW_SECONDS = 60;

  /** Bytes of a plugin's stdout and of its stderr that are stored (the rest is dropped, flagged). */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  LOG_CAP_BYTES = 1024 * 1024;

  /** Bytes of a raw-output plugin's stdout kept as its task's output file (the rest is dropped, flagged). */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  RAW_OUTPUT_CAP_BYTES = 16 * 1024 * 1024;

  /** Days an ended task (with its log and output file) is kept, per status; 0 keeps it for ever. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RETAIN_COMPLETED_DAYS = 30;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  RETAIN_FAILED_DAYS = 90;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  RETAIN_CANCELLED_DAYS = 30;

  /** On SIGTERM the worker waits this long for running plugins before handing them back. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  SHUTDOWN_GRACE_SECONDS = 30;

  /** Set false to run no periodic job in this deployment (a scheduler kept for its health port, say). */
  @Transform(toBool)
  @IsBoolean()
  SCHEDULER_ENABLED = true;

  /** How often each scheduler replica looks for due jobs (their crons are in scheduler_job). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  SCHEDULER_POLL_MS = 1000;

  /**
   * A schedule's full sweep (its first tick, and one an hour) inserts its tasks over this many
   * database connections at once: PostgreSQL checks and indexes a statement's rows on one core.
   * Set it to the cores the database can give a tick.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(8)
  SCHEDULER_SWEEP_PARTS = 2;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: string = 'log';

  /** json: one JSON object per line (production); pretty: readable lines (development). */
  @IsIn(['json', 'pretty'])
  LOG_FORMAT: string = 'json';

  /**
   * The key of organizations' plugin settings (AES-256-GCM): 32 bytes, 64 hex characters or base64.
   * Kept outside the database; unset, such settings can be neither stored nor used. Never shown.
   */
  @IsOptional()
  @Matches(SECRETS_KEY_PATTERN, {
    message: 'SECRETS_KEY must be 32 bytes: 64 hex characters or base64 (openssl rand -hex 32)',
  })
  SECRETS_KEY?: string;
}

const OPTIONAL = ['DOCKER_HOST', 'REAP_INTERVAL_SECONDS', 'SECRETS_KEY'];
/** Settings whose values an error message must not repeat. */
const SECRET = ['SECRETS_KEY'];

/** Reads and validates settings; throws one error that lists every bad variable. */
export function loadSettings(env: Record<string, string | undefined> = process.env): KatSettings {
  const known = Object.keys(new KatSettings());
  const given = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => (known.includes(k) || OPTIONAL.includes(k)) && v !== undefined && v !== ''),
  );
  const settings = plainToInstance(KatSettings, { ...new KatSettings(), ...given });
  const errors = validateSync(settings, { forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map(
      (e) =>
        `${e.property}=${SECRET.includes(e.property) ? '(not shown)' : JSON.stringify(given[e.property] ?? e.value)}` +
        ': ' +
        Object.values(e.constraints ?? {}).join(', '),
    );
    throw new Error(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return settings;
}

export const KAT_SETTINGS = Symbol('KAT_SETTINGS');

const LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** Nest's logger levels for LOG_LEVEL: that level and every more severe one. */
export function logLevels(settings: KatSettings): LogLevel[] {
  return LEVELS.slice(0, LEVELS.indexOf(settings.LOG_LEVEL as LogLevel) + 1);
}
