import { DataSource, DataSourceOptions } from 'typeorm';
import { ApiToken } from './auth/api-token.entity';
import { Organization } from './organizations/organization.entity';
import { Plugin } from './plugins/plugin.entity';
import { Task, TaskLog } from './tasks/task.entity';
import { Spine1764144000000 } from './migrations/1764144000000-spine';
import { Objects1764150000000 } from './migrations/1764150000000-objects';
import { Schedules1764160000000 } from './migrations/1764160000000-schedules';
import { RulesReports1764170000000 } from './migrations/1764170000000-rules-reports';
import { TimeOrderedTaskIds1764180000000 } from './migrations/1764180000000-time-ordered-task-ids';
import { EveryStatusWriteChecked1764190000000 } from './migrations/1764190000000-every-status-write-checked';
import { FairDispatch1764200000000 } from './migrations/1764200000000-fair-dispatch';
import { PluginSettings1764210000000 } from './migrations/1764210000000-plugin-settings';
import { TokenLifecycle1764220000000 } from './migrations/1764220000000-token-lifecycle';
import { AuditLog1764230000000 } from './migrations/1764230000000-audit-log';
import { SteadyTicks1764240000000 } from './migrations/1764240000000-steady-ticks';
import { RawOutput1764250000000 } from './migrations/1764250000000-raw-output';
import { Retention1764260000000 } from './migrations/1764260000000-retention';
import { ObjectPages1764270000000 } from './migrations/1764270000000-object-pages';
import { CheaperTaskInserts1764280000000 } from './migrations/1764280000000-cheaper-task-inserts';
import { ResweepCount1764290000000 } from './migrations/1764290000000-resweep-count';
import { PluginChangeNotice1764300000000 } from './migrations/1764300000000-plugin-change-notice';
import { ObjectSet } from './object-sets/object-set.entity';
import { Schedule } from './schedules/schedule.entity';

// Classes, not globs: each app is one webpack bundle, so there are no entity files to find at run time.
export const ENTITIES = [Organization, ApiToken, Plugin, Task, TaskLog, ObjectSet, Schedule];
export const MIGRATIONS = [
  Spine1764144000000,
  Objects1764150000000,
  Schedules1764160000000,
  RulesReports1764170000000,
  TimeOrderedTaskIds1764180000000,
  EveryStatusWriteChecked1764190000000,
  FairDispatch1764200000000,
  PluginSettings1764210000000,
  TokenLifecycle1764220000000,
  AuditLog1764230000000,
  SteadyTicks1764240000000,
  RawOutput1764250000000,
  Retention1764260000000,
  ObjectPages1764270000000,
  CheaperTaskInserts1764280000000,
  ResweepCount1764290000000,
  PluginChangeNotice1764300000000,
];

/**
 * A transaction whose client went silent (a frozen process, a GC pause, a lost network) is ended by
 * the server after this long, so the locks it holds cannot stall everyone else: a rule's advisory
 * lock, rows being written. Statements that run longer are not affected (they are not idle).
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

export function dataSourceOptions(databaseUrl: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'kat_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    extra: { max: poolSize, options: `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}` },
  };
}

/** Applies pending migrations; returns the names of those applied. */
export async function runMigrations(databaseUrl: string): Promise<string[]> {
  const dataSource = new DataSource(dataSourceOptions(databaseUrl, 1));
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
