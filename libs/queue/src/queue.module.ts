import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { KatSettings } from '@kat/domain';
import { QUEUE_NAMES } from './queues';
import { TaskDispatcher } from './task-dispatcher';
import { TaskAdmission } from './task-admission';
import { TaskIntake } from './task-intake';

/** Bull on Redis for the task queues, shared by the api, the scheduler and the worker. */
@Module({})
export class QueueModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [
        BullModule.forRoot({ url: settings.REDIS_URL, prefix: settings.QUEUE_PREFIX }),
        BullModule.registerQueue(...QUEUE_NAMES.map((name) => ({ name }))),
      ],
      providers: [TaskDispatcher, TaskIntake, TaskAdmission],
      exports: [TaskDispatcher, TaskIntake, TaskAdmission, BullModule],
    };
  }
}
