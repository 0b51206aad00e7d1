import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { DomainModule, KatSettings } from '@kat/domain';
import { QueueModule } from '@kat/queue';
import { AuthGuard } from './auth/auth.guard';
import { TokenAuthenticator } from './auth/token-authenticator';
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
import { TasksController } from './tasks/tasks.controller';
import { TasksService } from './tasks/tasks.service';

@Module({})
export class ApiModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        DomainModule.forRoot(settings),
        QueueModule.forRoot(settings),
        TerminusModule,
      ],
      controllers: [
        TasksController, ObjectsController, ObjectSetsController, SchedulesController, SchedulerController, QueuesController,
        BusinessRulesController, ReportsController, PluginsController, OrganizationsController, HealthController, MetricsController,
      ],
      providers: [TasksService, ObjectsService, TokenAuthenticator, ApiMetrics, { provide: APP_GUARD, useClass: AuthGuard }],
    };
  }
}
