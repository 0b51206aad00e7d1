import { DynamicModule, Module } from '@nestjs/common';
import { DomainModule, KatSettings, TaskType } from '@kat/domain';
import { QueueModule } from '@kat/queue';
import { RuntimeModule } from '@kat/runtime';
import { BusinessRuleTaskHandler } from './business-rule-tasks/business-rule-task.handler';
import { ContainerPluginRunner } from './plugin-runner/container-plugin-runner';
import { NoopPluginRunner } from './plugin-runner/noop-plugin-runner';
import { OrphanContainerReaper } from './plugin-runner/orphan-container-reaper';
import { PLUGIN_RUNNER } from './plugin-runner/plugin-runner';
import { ProcessPluginRunner } from './plugin-runner/process-plugin-runner';
import { PluginTaskHandler } from './plugin-tasks/plugin-task.handler';
import { ReportTaskHandler } from './report-tasks/report-task.handler';
import { TaskExecutor } from './task-executor';
import { TASK_HANDLERS, TaskHandlers } from './task-handler';

const PLUGIN_RUNNERS: Record<KatSettings['PLUGIN_RUNNER'], new (...args: never[]) => unknown> = {
  container: ContainerPluginRunner,
  process: ProcessPluginRunner,
  noop: NoopPluginRunner,
};

/**
 * Everything that runs tasks, without consuming a queue: the worker app adds the queue consumer
 * and the orphan reaper; the CLI's `run-task` uses this alone (follow-up tasks are queued).
 */
@Module({})
export class TaskExecutionModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: TaskExecutionModule,
      imports: [DomainModule.forRoot(settings), QueueModule.forRoot(settings), RuntimeModule.forRoot(settings)],
      providers: [
        TaskExecutor,
        PluginTaskHandler,
        BusinessRuleTaskHandler,
        ReportTaskHandler,
        // The handler of each task type: adding a type means adding a handler here.
        {
          provide: TASK_HANDLERS,
          useFactory: (
            plugin: PluginTaskHandler,
            rule: BusinessRuleTaskHandler,
            report: ReportTaskHandler,
          ): TaskHandlers => ({
            [TaskType.PLUGIN]: plugin,
            [TaskType.BUSINESS_RULE]: rule,
            [TaskType.REPORT]: report,
          }),
          inject: [PluginTaskHandler, BusinessRuleTaskHandler, ReportTaskHandler],
        },
        { provide: PLUGIN_RUNNER, useClass: PLUGIN_RUNNERS[settings.PLUGIN_RUNNER] },
        OrphanContainerReaper,
      ],
      exports: [TaskExecutor, OrphanContainerReaper],
    };
  }
}
