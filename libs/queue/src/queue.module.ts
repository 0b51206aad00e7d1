import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { KatSettings } from '@kat/domain';
import { QUEUE_NAMES } from './queues';
import { TaskDispatcher } from './task-dispatcher';
import { TaskAdmission } from './task-admission';
import { TaskIntake } from './task-intake';

/**
 * A job a worker took off its queue but holds no lock on goes back to the queue at Bull's stalled
 * check, which must see it twice: every 5 s rather than Bull's 30. Such a job is one a frozen worker
 * popped while idle (its blocking pop was answered, but it never ran the job) or one whose worker
 * died. Sooner is safe: the task row, not the job, decides whether the task runs.
 */
const STALLED_CHECK_INTERVAL_MS = 5000;

/** Bull on Redis for the task queues, shared by the api, the scheduler and the worker. */
@Module({})
export class QueueModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [
        BullModule.forRoot({
          url: settings.REDIS_URL,
          prefix: settings.QUEUE_PREFIX,
          settings: { stalledInterval: STALLED_CHECK_INTERVAL_MS },
        }),
        BullModule.registerQueue(...QUEUE_NAMES.map((name) => ({ name }))),
      ],
      providers: [TaskDispatcher, TaskIntake, TaskAdmission],
      exports: [TaskDispatcher, TaskIntake, TaskAdmission, BullModule],
    };
  }
}
