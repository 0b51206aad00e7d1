import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DatabaseHealthRepository, KAT_SETTINGS, KatSettings, TaskType } from '@kat/domain';
import { createServer, Server } from 'node:http';
import { TaskDispatcher, withTimeout } from '@kat/queue';
import { KatMetrics } from './metrics';

/**
 * The optional health endpoint of the worker and the scheduler, which serve no HTTP otherwise:
 * on HEALTH_PORT, `/health` (the process answers), `/health/ready` (PostgreSQL and Redis do) and `/metrics`.
 */
@Injectable()
export class HealthPort implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HealthPort.name);
  private server?: Server;

  constructor(
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
    private readonly database: DatabaseHealthRepository,
    private readonly dispatcher: TaskDispatcher,
    private readonly metrics: KatMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (this.settings.HEALTH_PORT === 0) return;
    this.server = createServer((request, response) => {
      const reply = (status: number, body: object) =>
        response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      if (request.url === '/health') return reply(200, { status: 'ok' });
      if (request.url === '/metrics') {
        void this.metrics.registry
          .metrics()
          .then((text) => response.writeHead(200, { 'Content-Type': this.metrics.registry.contentType }).end(text));
        return;
      }
      if (request.url !== '/health/ready') return reply(404, { status: 'not found' });
      this.readiness().then((details) =>
        reply(Object.values(details).every((d) => d.status === 'up') ? 200 : 503, { details }),
      );
    });
    this.server.listen(this.settings.HEALTH_PORT, () => this.logger.log(`Health on port ${this.settings.HEALTH_PORT}`));
  }

  onApplicationShutdown(): void {
    this.server?.close();
  }

  private async readiness(): Promise<Record<string, { status: 'up' | 'down'; message?: string }>> {
    const check = async (probe: () => Promise<unknown>) => {
      try {
        await withTimeout(probe(), 1500, 'timed out');
        return { status: 'up' as const };
      } catch (error) {
        return { status: 'down' as const, message: (error as Error).message };
      }
    };
    const redis = this.dispatcher.queueFor(TaskType.PLUGIN).client;
    return {
      database: await check(() => this.database.ping()),
      redis: await check(() =>
        redis.status === 'ready' ? redis.ping() : Promise.reject(new Error(`connection is ${redis.status}`)),
      ),
    };
  }
}
