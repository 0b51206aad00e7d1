import { Global, Injectable, Module } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus metrics of one process. The api serves them at /metrics; the worker and the
 * scheduler on their HEALTH_PORT at /metrics. Names are documented in the README.
 */
@Injectable()
export class KatMetrics {
  readonly registry = new Registry();

  /** Worker: how long plugin tasks ran, by plugin and outcome. */
  readonly taskDuration = new Histogram({
    name: 'kat_task_duration_seconds',
    help: 'Time from claim to the end of a task run in the worker',
    labelNames: ['plugin_id', 'type', 'status'] as const,
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });

  /** Worker: plugin containers that did not exit 0, by reason. */
  readonly containerFailures = new Counter({
    name: 'kat_container_failures_total',
    help: 'Plugin container runs that failed, by reason (exit_code, timeout, oom_kill, bad_output, start_error)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** Scheduler: how long each job's tick took. */
  readonly tickDuration = new Histogram({
    name: 'kat_scheduler_tick_duration_seconds',
    help: 'Duration of one tick of a scheduler job',
    labelNames: ['job'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  /** Scheduler: tasks its jobs created. */
  readonly tasksCreated = new Counter({
    name: 'kat_scheduler_tasks_created_total',
    help: 'Tasks created by scheduler jobs',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });

  /** Scheduler: ended tasks the retention job deleted. */
  readonly tasksPruned = new Counter({
    name: 'kat_scheduler_tasks_pruned_total',
    help: 'Ended tasks deleted by the retention job (prune-tasks), by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kat_process_' });
  }
}

@Global()
@Module({ providers: [KatMetrics], exports: [KatMetrics] })
export class MetricsModule {}
