import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { DomainModule, KatSettings } from '@kat/domain';
import { QueueModule } from '@kat/queue';
import { RuntimeModule } from '@kat/runtime';
import { CreateScheduledTasksJob } from './create-scheduled-tasks.job';
import { JobRunner } from './job-runner';
import { PruneTasksJob } from './prune-tasks.job';
import { PERIODIC_JOBS } from './periodic-job';
import { ReconcileTasksJob } from './reconcile-tasks.job';
import { RunBusinessRulesJob } from './run-business-rules.job';

/**
 * The periodic jobs and the runner that runs each due tick once across replicas: the scheduler
 * app polls with it; the CLI's `run-job` runs one tick with it (SCHEDULER_ENABLED=false, no polling).
 */
@Module({})
export class SchedulingModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: SchedulingModule,
      imports: [
        DomainModule.forRoot(settings),
        QueueModule.forRoot(settings),
        RuntimeModule.forRoot(settings),
        ScheduleModule.forRoot(),
      ],
      providers: [
        CreateScheduledTasksJob,
        RunBusinessRulesJob,
        ReconcileTasksJob,
        PruneTasksJob,
        {
          provide: PERIODIC_JOBS,
          useFactory: (...jobs) => jobs,
          inject: [CreateScheduledTasksJob, RunBusinessRulesJob, ReconcileTasksJob, PruneTasksJob],
        },
        JobRunner,
      ],
      exports: [JobRunner, PERIODIC_JOBS],
    };
  }
}
