import { PluginsService } from './plugins/plugins.service';
import { DashboardController } from './dashboard/dashboard.controller';
import { DashboardService } from './dashboard/dashboard.service';
import { DynamicModule, Module } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { DomainModule, KatSettings } from '@kat/domain';
import { QueueModule } from '@kat/queue';
import { RuntimeModule } from '@kat/runtime';
import { AuthModule } from './auth/auth.module';
import { BusinessRulesController } from './business-rules/business-rules.controller';
import { HealthController } from './health/health.controller';
import { ApiMetrics, MetricsController } from './metrics/metrics.controller';
import { ReportsController } from './reports/reports.controller';
import { ObjectSetsController } from './object-sets/object-sets.controller';
import { ObjectsController } from './objects/objects.controller';
import { QueuesController } from './queues/queues.controller';
import { SchedulerController } from './scheduler/scheduler.controller';
import { SchedulesController } from './schedules/schedules.controller';
import { ObjectsService } from './objects/objects.service';
import { OrganizationsController } from './organizations/organizations.controller';
import { PluginsController } from './plugins/plugins.controller';
import { PluginSettingsController } from './plugins/plugin-settings.controller';
import { TasksController } from './tasks/tasks.controller';
import { TasksService } from './tasks/tasks.service';
import { WebModule } from './web/web.module';
import { AuditLogController } from './audit/audit-log.controller';
import { TokensController } from './tokens/tokens.controller';
import { TokensService } from './tokens/tokens.service';

export const API_PREFIX = 'api/v1';

/** Liveness, readiness and Prometheus metrics, at the root, where probes and scrapers look for them. */
@Module({ imports: [TerminusModule], controllers: [HealthController, MetricsController], providers: [ApiMetrics] })
class OperationsModule {}

/**
 * The api: its own controllers are the JSON API, under /api/v1; operations and the web pages are
 * modules at the root. The prefix is the RouterModule's, per module: an app-wide prefix can only
 * be excluded by path, and the pages share paths such as GET /tasks/ with the API's controllers.
 * Global, so that the pages act through the same TasksService and ObjectsService as the API.
 */
@Module({})
export class ApiModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: ApiModule,
      global: true,
      imports: [
        DomainModule.forRoot(settings),
        QueueModule.forRoot(settings),
        RuntimeModule.forRoot(settings),
        AuthModule,
        OperationsModule,
        WebModule,
        RouterModule.register([{ path: API_PREFIX, module: ApiModule }]),
      ],
      controllers: [
        TasksController,
        ObjectsController,
        ObjectSetsController,
        SchedulesController,
        SchedulerController,
        QueuesController,
        BusinessRulesController,
        ReportsController,
        PluginsController,
        PluginSettingsController,
        OrganizationsController,
        TokensController,
        AuditLogController,
        DashboardController,
      ],
      providers: [TasksService, ObjectsService, TokensService, DashboardService, PluginsService],
      exports: [TasksService, ObjectsService, TokensService, DashboardService, PluginsService],
    };
  }
}
