import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KAT_SETTINGS, KatSettings } from './config/settings';
import { dataSourceOptions } from './data-source';
import { TaskRepository } from './tasks/task.repository';
import { TaskAdmissionRepository } from './tasks/task-admission.repository';
import { TaskStatsRepository } from './tasks/task-stats.repository';
import { ObjectRepository } from './objects/object.repository';
import { ObjectChainRepository } from './objects/object-chain.repository';
import { PluginTokenService } from './auth/plugin-token.service';
import { ScheduleRepository } from './schedules/schedule.repository';
import { RuleEngine } from './rules/rule-engine';
import { ReportRepository } from './reports/report.repository';
import { SchedulerStateRepository } from './schedules/scheduler-state.repository';
import { ObjectSetRepository } from './object-sets/object-set.repository';
import { OrganizationRepository } from './organizations/organization.repository';
import { ApiTokenRepository } from './auth/api-token.repository';
import { WebSessionRepository } from './auth/web-session.repository';
import { AuditLogRepository } from './audit/audit-log.repository';
import { PluginRepository } from './plugins/plugin.repository';
import { PluginCatalogue } from './plugins/plugin-catalogue';
import { PluginSettingRepository } from './plugins/plugin-setting.repository';
import { FindingTypeRepository } from './rules/finding-type.repository';
import { FindingRepository } from './rules/finding.repository';
import { DatabaseHealthRepository } from './database/database-health.repository';
import { PostgresTaskOutputStore, TASK_OUTPUT_STORE } from './tasks/task-output.store';

/** The repositories, one per concept, and the domain services on them: apps reach PostgreSQL only through these. */
const DATA_ACCESS = [
  TaskRepository,
  TaskAdmissionRepository,
  TaskStatsRepository,
  ObjectRepository,
  ObjectChainRepository,
  PluginTokenService,
  ScheduleRepository,
  SchedulerStateRepository,
  RuleEngine,
  ReportRepository,
  ObjectSetRepository,
  OrganizationRepository,
  ApiTokenRepository,
  WebSessionRepository,
  AuditLogRepository,
  PluginRepository,
  PluginCatalogue,
  PluginSettingRepository,
  FindingTypeRepository,
  FindingRepository,
  DatabaseHealthRepository,
];

/** PostgreSQL through TypeORM, the validated settings and the repositories, for every app. */
@Module({})
export class DomainModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: DomainModule,
      global: true,
      imports: [TypeOrmModule.forRoot(dataSourceOptions(settings.DATABASE_URL))],
      providers: [
        { provide: KAT_SETTINGS, useValue: settings },
        { provide: TASK_OUTPUT_STORE, useClass: PostgresTaskOutputStore },
        ...DATA_ACCESS,
      ],
      exports: [KAT_SETTINGS, TASK_OUTPUT_STORE, ...DATA_ACCESS],
    };
  }
}
