import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DomainModule, KatSettings, ObjectSet, Plugin } from '@kat/domain';
import { HealthPort, QueueModule } from '@kat/queue';
import { ContainerPluginRunner } from './plugin-runner/container-plugin-runner';
import { OrphanContainerReaper } from './plugin-runner/orphan-container-reaper';
import { PLUGIN_RUNNER } from './plugin-runner/plugin-runner';
import { NoopPluginRunner } from './plugin-runner/noop-plugin-runner';
import { ProcessPluginRunner } from './plugin-runner/process-plugin-runner';
import { PluginTaskConsumer } from './plugin-tasks/plugin-task.consumer';
import { PluginTaskExecutor } from './plugin-tasks/plugin-task.executor';
import { RuleReportTaskConsumer } from './rule-report-tasks/rule-report-task.consumer';
import { RuleReportTaskExecutor } from './rule-report-tasks/rule-report-task.executor';

const PLUGIN_RUNNERS: Record<KatSettings['PLUGIN_RUNNER'], new (...args: never[]) => unknown> = {
  container: ContainerPluginRunner,
  process: ProcessPluginRunner,
  noop: NoopPluginRunner,
};

/** Everything that runs tasks, without consuming a queue (the CLI's `run-task` uses this alone; follow-up tasks are queued). */
@Module({})
export class TaskExecutionModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: TaskExecutionModule,
      imports: [DomainModule.forRoot(settings), QueueModule.forRoot(settings), TypeOrmModule.forFeature([Plugin, ObjectSet])],
      providers: [PluginTaskExecutor, RuleReportTaskExecutor, { provide: PLUGIN_RUNNER, useClass: PLUGIN_RUNNERS[settings.PLUGIN_RUNNER] }],
      exports: [PluginTaskExecutor, RuleReportTaskExecutor],
    };
  }
}

/** The worker app: consumes the task queues and runs each task. */
@Module({})
export class WorkerModule {
  static forRoot(settings: KatSettings): DynamicModule {
    return {
      module: WorkerModule,
      imports: [TaskExecutionModule.forRoot(settings)],
      providers: [PluginTaskConsumer, RuleReportTaskConsumer, OrphanContainerReaper, HealthPort],
    };
  }
}
