import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { TaskAdmissionRepository, TaskRepository, TaskType } from '@kat/domain';
import { TASK_QUEUES, TaskDispatcher } from '@kat/queue';
import { KatMetrics } from '@kat/runtime';
import { Gauge } from 'prom-client';
import { Public } from '../auth/authenticated';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * Gauges read at scrape time: tasks by status and type and the waiting line by priority (PostgreSQL),
 * jobs by queue and state (Redis).
 */
@Injectable()
export class ApiMetrics {
  constructor(
    metrics: KatMetrics,
    tasks: TaskRepository,
    admission: TaskAdmissionRepository,
    dispatcher: TaskDispatcher,
  ) {
    new Gauge({
      name: 'kat_tasks',
      help: 'Tasks by status and type, in every organization',
      labelNames: ['status', 'type'] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const row of await tasks.countsByStatusAndType()) this.set({ status: row.status, type: row.type }, row.n);
      },
    });
    new Gauge({
      name: 'kat_tasks_waiting',
      help: 'Plugin tasks waiting for admission (PENDING, not yet on the queue), by priority',
      labelNames: ['priority'] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (let priority = 1; priority <= 9; priority++) this.set({ priority: String(priority) }, 0);
        for (const row of await admission.waitingByPriority()) this.set({ priority: String(row.priority) }, row.n);
      },
    });
    new Gauge({
      name: 'kat_queue_jobs',
      help: 'Bull jobs by queue and state',
      labelNames: ['queue', 'state'] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const type of Object.keys(TASK_QUEUES) as TaskType[]) {
          const queue = dispatcher.queueFor(type);
          if (queue.client.status !== 'ready') continue;
          const counts = await queue.getJobCounts();
          for (const state of JOB_STATES) this.set({ queue: queue.name, state }, counts[state]);
        }
      },
    });
  }
}

@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: KatMetrics,
    _gauges: ApiMetrics,
  ) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
