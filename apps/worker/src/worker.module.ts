import { DynamicModule, Module } from '@nestjs/common';
import { KatSettings } from '@kat/domain';
import { TaskExecutionModule } from '@kat/execution';
import { HealthPort } from '@kat/runtime';
import { TaskQueueConsumer } from './task-queue.consumer';

/** The worker app: consumes the task queues and runs each task (see libs/execution). */
@Module({})
export class WorkerModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: WorkerModule,
      imports: [TaskExecutionModule.forRoot(settings)],
      providers: [TaskQueueConsumer, HealthPort],
    };
  }
}
