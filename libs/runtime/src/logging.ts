import { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Options } from 'pino-http';
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
  return LoggerModule.forRoot({ pinoHttp: requestLogOptions(settings) });
}

/** A request as pino's standard serializer gives it to ours. */
type SerializedRequest = Record<string, unknown> & { headers: Record<string, string | undefined> };

/**
 * The logger's options, with the line each request gets: its id, method, URL, client address (and
 * X-Forwarded-For, user agent), status and time. No other header: they hold the token and the
 * session cookie, and redacting them cloned every request's headers (pino binds the request to a
 * logger per request, logged or not).
 */
export function requestLogOptions(settings: Pick<KatSettings, 'LOG_LEVEL' | 'LOG_FORMAT'>): Options {
  return {
    level: PINO_LEVELS[settings.LOG_LEVEL] ?? 'info',
    transport:
      settings.LOG_FORMAT === 'pretty'
        ? { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname' } }
        : undefined,
    // Each is given pino's standard serialization of the request or response, and keeps a part.
    serializers: {
      req: ({ id, method, url, remoteAddress, headers }: SerializedRequest) => ({
        id,
        method,
        url,
        remoteAddress,
        // Behind an ingress, remoteAddress is the ingress: these name the client.
        forwardedFor: headers['x-forwarded-for'],
        userAgent: headers['user-agent'],
      }),
      res: ({ statusCode }: Record<string, unknown>) => ({ statusCode }),
    },
    // Health probes and scrapes every few seconds would drown the lines that matter.
    autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
  };
}
