import { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { KatSettings } from '@kat/domain';

const PINO_LEVELS: Record<string, string> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Logs as JSON lines (pino), one object per line with its fields (task_id, plugin_id,
 * organization on every line about a task); LOG_FORMAT=pretty makes them readable in development.
 */
export function loggingModule(settings: KatSettings): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      level: PINO_LEVELS[settings.LOG_LEVEL] ?? 'info',
      transport:
        settings.LOG_FORMAT === 'pretty'
          ? { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname' } }
          : undefined,
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      // Health probes and scrapes every few seconds would drown the lines that matter.
      autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
    },
  });
}
