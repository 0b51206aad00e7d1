import { DynamicModule, Module } from '@nestjs/common';
import { KatSettings } from '@kat/domain';
import { HealthPort } from '@kat/runtime';
import { SchedulingModule } from '@kat/scheduling';

/** The scheduler app: polls for due periodic jobs and runs them (see libs/scheduling). */
@Module({})
export class SchedulerModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [SchedulingModule.forRoot(settings)],
      providers: [HealthPort],
    };
  }
}
