import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KAT_SETTINGS, KatSettings } from '../config/settings';
import { dataSourceOptions } from '../data-source';
import { loggingModule } from './logging';
import { TaskRepository } from '../task/task.repository';
import { ObjectRepository } from '../objects/object.repository';
import { PluginTokenService } from '../auth/plugin-token.service';
import { ScheduleRepository } from '../schedules/schedule.repository';
import { RuleEngine } from '../rules/rule-engine';
import { ReportRepository } from '../reports/report.repository';
import { SchedulerStateRepository } from '../schedules/scheduler-state.repository';

/** PostgreSQL through TypeORM, the validated settings and the repositories, for every app. */
@Module({})
export class DomainModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: DomainModule,
      global: true,
      imports: [TypeOrmModule.forRoot(dataSourceOptions(settings.DATABASE_URL)), loggingModule(settings)],
      providers: [{ provide: KAT_SETTINGS, useValue: settings }, TaskRepository, ObjectRepository, PluginTokenService, ScheduleRepository, SchedulerStateRepository, RuleEngine, ReportRepository],
      exports: [KAT_SETTINGS, TaskRepository, ObjectRepository, PluginTokenService, ScheduleRepository, SchedulerStateRepository, RuleEngine, ReportRepository],
    };
  }
}
