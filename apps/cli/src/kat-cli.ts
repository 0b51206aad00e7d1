import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ApiTokenRepository,
  createDatabaseIfMissing,
  dataSourceOptions,
  KatSettings,
  loadSettings,
  ORGANIZATION_CODE_PATTERN,
  OrganizationRepository,
  logLevels,
  runMigrations,
  seed,
  SchedulerStateRepository,
  TaskRepository,
  ALL_ORGANIZATIONS,
  AuditLogRepository,
  parseInterval,
  TOKEN_ACCESS,
  TokenAccess,
} from '@kat/domain';
import { TokenRevocations } from '@kat/runtime';
import { userInfo } from 'node:os';
import { DataSource } from 'typeorm';
import { checkServices } from './services';
import { TaskExecutionModule, TaskExecutor } from '@kat/execution';
import { JobRunner, PERIODIC_JOBS, PeriodicJob, SchedulingModule } from '@kat/scheduling';

const USAGE =
  `usage: npm run kat -- <command>
  check                                          can PostgreSQL, Redis and the container engine be reached?
  migrate                                        create the database if needed and apply migrations
  seed                                           built-in plugins and a demo organization
  create-token --org <code> [--admin] [--access read|write|admin] [--name <name>] [--expires-in <duration>]
                                                 print a new API token (creates the organization if needed);
                                                 --admin: of every organization; --expires-in: e.g. P30D, PT12H
  list-tokens [--org <code>]                     the tokens (never their secrets), newest first
  revoke-token <id>                              revoke a token: every API process refuses it at once
  run-task <task id>                             run a PENDING task here, in the foreground, and print it
  run-job <name>                                 run one scheduler job now (e.g. create-scheduled-tasks) ` +
  `and print what it did`;

/** Nest's logger on stderr, so that a command's stdout holds only its output (JSON, a token). */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(messages: unknown[], context?: string, logLevel?: LogLevel): void {
    super.printMessages(messages, context, logLevel, 'stderr');
  }
}

function cliLogger(settings: KatSettings): StderrLogger {
  const logger = new StderrLogger();
  logger.setLogLevels(logLevels(settings));
  return logger;
}

/** The `kat` command line; returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const settings = loadSettings();
  switch (command) {
    case 'check':
      return checkServices(settings);
    case 'migrate': {
      if (await createDatabaseIfMissing(settings.DATABASE_URL)) console.log('Created the database');
      const applied = await runMigrations(settings.DATABASE_URL);
      console.log(applied.length ? `Applied ${applied.join(', ')}` : 'The database is up to date');
      return 0;
    }
    case 'seed':
      return withDataSource(settings.DATABASE_URL, async (db) => {
        for (const line of await seed(db)) console.log(line);
        return 0;
      });
    case 'create-token':
      return withDataSource(settings.DATABASE_URL, (db) => createToken(db, args));
    case 'list-tokens':
      return withDataSource(settings.DATABASE_URL, (db) => listTokens(db, args));
    case 'revoke-token':
      return withDataSource(settings.DATABASE_URL, (db) => revokeToken(db, settings, args));
    case 'run-task':
      return runTask(args[0]);
    case 'run-job':
      return runJob(args[0]);
    default:
      console.error(command ? `unknown command ${command}\n${USAGE}` : USAGE);
      return 2;
  }
}

async function withDataSource(url: string, work: (db: DataSource) => Promise<number>): Promise<number> {
  const db = await new DataSource(dataSourceOptions(url, 1)).initialize();
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function createToken(db: DataSource, args: string[]): Promise<number> {
  const code = option(args, '--org');
  const admin = args.includes('--admin');
  const access = option(args, '--access') ?? (admin ? 'admin' : 'write');
  const expiresIn = option(args, '--expires-in');
  if (!code || !ORGANIZATION_CODE_PATTERN.test(code)) {
    console.error('create-token needs --org <code>, a lower-case slug (letters, digits, -)');
    return 2;
  }
  if (!(TOKEN_ACCESS as readonly string[]).includes(access)) {
    console.error(`--access must be one of ${TOKEN_ACCESS.join(', ')}`);
    return 2;
  }
  const seconds = expiresIn === undefined ? null : parseInterval(expiresIn);
  if (expiresIn !== undefined && seconds === null) {
    console.error('--expires-in must be a duration such as P30D, PT12H or 3600 (seconds)');
    return 2;
  }
  const organizations = new OrganizationRepository(db);
  let organization = await organizations.findByCode(code);
  if (!organization) {
    organization = await organizations.create({ code, name: code });
    await cliAudit(db, 'organization.create', code, code, { code, name: code });
    console.error(`Organization ${code} did not exist and was created`);
  }
  const { token, secret } = await new ApiTokenRepository(db).issue({
    name: option(args, '--name') ?? (admin ? 'admin' : `${code} token`),
    organization_id: admin ? null : organization.id,
    is_admin: admin,
    access: access as TokenAccess,
    expires_at: seconds === null ? null : new Date(Date.now() + seconds * 1000),
  });
  await cliAudit(db, 'token.create', token.organization, token.id, {
    name: token.name,
    access,
    expires_at: token.expires_at,
  });
  console.error(
    `${admin ? 'Admin token (any organization, pass ?organization=<code>)' : `Token for organization ${code}`}, ` +
      `id ${token.id}, ${access} access${token.expires_at ? `, expires ${token.expires_at.toISOString()}` : ''}:`,
  );
  console.log(secret);
  return 0;
}

async function listTokens(db: DataSource, args: string[]): Promise<number> {
  const code = option(args, '--org');
  let scope = ALL_ORGANIZATIONS;
  if (code !== undefined) {
    const organization = await new OrganizationRepository(db).findByCode(code);
    if (!organization) {
      console.error(`organization ${code} does not exist`);
      return 1;
    }
    scope = { organizationId: organization.id };
  }
  for (const token of await new ApiTokenRepository(db).list(scope, 10_000)) console.log(JSON.stringify(token));
  return 0;
}

async function revokeToken(db: DataSource, settings: KatSettings, args: string[]): Promise<number> {
  if (!/^[1-9]\d{0,8}$/.test(args[0] ?? '')) {
    console.error('revoke-token needs a token id (see list-tokens)');
    return 2;
  }
  const tokens = new ApiTokenRepository(db);
  const token = await tokens.revoke(Number(args[0]), ALL_ORGANIZATIONS);
  if (!token) {
    const existing = await tokens.findById(Number(args[0]), ALL_ORGANIZATIONS);
    console.error(existing ? `token ${args[0]} was revoked already` : `token ${args[0]} does not exist`);
    return existing ? 0 : 1;
  }
  await cliAudit(db, 'token.revoke', token.organization, token.id, { name: token.name });
  const revocations = new TokenRevocations(settings);
  try {
    await revocations.announce();
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  } finally {
    revocations.onModuleDestroy();
  }
  console.error(`Token ${token.id} (${token.name}) is revoked`);
  console.log(JSON.stringify(token));
  return 0;
}

/** The CLI acts as whoever runs it on a server: the audit log says so, with the system user. */
function cliAudit(
  db: DataSource,
  action: string,
  organization: string | null,
  targetId: string | number,
  changes: Record<string, unknown> = {},
): Promise<void> {
  return new AuditLogRepository(db).record({
    organization_code: organization,
    actor_token_id: null,
    actor: `cli (${userInfo().username})`,
    via: 'cli',
    action,
    target_type: action.split('.')[0],
    target_id: String(targetId),
    changes,
  });
}

/** Runs a periodic job once, here, as a scheduler replica would (under its lock), whatever its cron. */
async function runJob(name: string | undefined): Promise<number> {
  const settings = loadSettings({ ...process.env, SCHEDULER_ENABLED: 'false' });
  const app = await NestFactory.createApplicationContext(SchedulingModule.forRoot(settings), {
    logger: cliLogger(settings),
  });
  try {
    const job = app.get<PeriodicJob[]>(PERIODIC_JOBS).find((j) => j.name === name);
    if (!job) {
      console.error(
        `run-job needs one of: ${app
          .get<PeriodicJob[]>(PERIODIC_JOBS)
          .map((j) => j.name)
          .join(', ')}`,
      );
      return 2;
    }
    await app.get(SchedulerStateRepository).makeDueNow(job.name);
    const started = Date.now();
    const result = await app.get(JobRunner).runIfDue(job);
    if (result === null) {
      console.error(`${job.name} is running in a scheduler replica right now, or failed (see its last_result)`);
      return 1;
    }
    console.log(JSON.stringify({ job: job.name, duration_ms: Date.now() - started, result }));
    return 0;
  } finally {
    await app.close();
  }
}

async function runTask(taskId: string | undefined): Promise<number> {
  if (!taskId || !/^[0-9a-f-]{36}$/i.test(taskId)) {
    console.error('run-task needs a task id (a UUID)');
    return 2;
  }
  const settings = loadSettings();
  const app = await NestFactory.createApplicationContext(TaskExecutionModule.forRoot(settings), {
    logger: cliLogger(settings),
  });
  try {
    const before = await app.get(TaskRepository).findById(taskId, ALL_ORGANIZATIONS);
    if (!before) {
      console.error(`task ${taskId} does not exist`);
      return 1;
    }
    console.error(`Running ${before.type} task ${taskId}…`);
    // Run here and now, as the pages' "Run task" does: past its turn, back-off and rate limit.
    await app.get(TaskRepository).admitNow(taskId, ALL_ORGANIZATIONS);
    await cliAudit(app.get(DataSource), 'task.run', before.organization, taskId);
    const result = await app.get(TaskExecutor).execute(taskId);
    const task = await app.get(TaskRepository).findById(taskId, ALL_ORGANIZATIONS);
    console.log(JSON.stringify({ result, task }, null, 2));
    return result.outcome === 'COMPLETED' ? 0 : 1;
  } finally {
    await app.close();
  }
}
