import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { DomainModule, KatSettings } from '@kat/domain';
import { HealthPort, QueueModule } from '@kat/queue';
import { JobRunner } from './jobs/job-runner';
import { PERIODIC_JOBS } from './jobs/periodic-job';
import { ReconcileTasksJob } from './jobs/reconcile-tasks.job';
import { CreateScheduledTasksJob } from './jobs/create-scheduled-tasks.job';
import { RunBusinessRulesJob } from './jobs/run-business-rules.job';

@Module({})
export class SchedulerModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [DomainModule.forRoot(settings), QueueModule.forRoot(settings), ScheduleModule.forRoot()],
      providers: [
        CreateScheduledTasksJob,
        RunBusinessRulesJob,
        ReconcileTasksJob,
        { provide: PERIODIC_JOBS, useFactory: (...jobs) => jobs, inject: [CreateScheduledTasksJob, RunBusinessRulesJob, ReconcileTasksJob] },
        JobRunner,
        HealthPort,
      ],
      exports: [JobRunner, CreateScheduledTasksJob, ReconcileTasksJob],
    };
  }
}
