import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  ClaimedTask, findRule, KAT_SETTINGS, KatSettings, ObjectSet, ReportRepository, RuleEngine, TaskRepository, TaskStatus, TaskType,
} from '@kat/domain';
import { KatMetrics } from '@kat/queue';
import { Repository } from 'typeorm';
import { ExecutionResult } from '../plugin-tasks/plugin-task.executor';

/**
 * Runs business_rule and report tasks, which run in the worker's process (SQL, no container):
 * claim, heartbeat, the work, then COMPLETED with `data.result` or FAILED with the error.
 */
@Injectable()
export class RuleReportTaskExecutor {
  private readonly logger = new Logger(RuleReportTaskExecutor.name);

  constructor(
    private readonly tasks: TaskRepository,
    private readonly rules: RuleEngine,
    private readonly reports: ReportRepository,
    @InjectRepository(ObjectSet) private readonly sets: Repository<ObjectSet>,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
    private readonly metrics: KatMetrics,
  ) {}

  async execute(taskId: string): Promise<ExecutionResult> {
    const task = await this.tasks.claim(taskId);
    if (!task) return { outcome: 'skipped', reason: 'not PENDING (already taken, cancelled or finished)' };
    const timer = this.metrics.taskDuration.startTimer({ plugin_id: '', type: task.type });
    const heartbeat = setInterval(() => void this.tasks.heartbeat(task.id, task.attempts).catch(() => undefined), this.settings.HEARTBEAT_INTERVAL_MS);
    try {
      const result = await this.work(task);
      const finished = await this.tasks.finish({ id: task.id, attempt: task.attempts, status: TaskStatus.COMPLETED, data: { result } });
      this.logger.log({ msg: `${task.type} task ended`, task_id: task.id, organization: task.organization, outcome: 'COMPLETED', result });
      timer({ status: TaskStatus.COMPLETED });
      return finished ? { outcome: TaskStatus.COMPLETED } : { outcome: 'lost', reason: 'cancelled while running' };
    } catch (error) {
      const message = (error as Error).message.split('\n')[0];
      this.logger.error({ msg: `${task.type} task failed: ${message}`, task_id: task.id, organization: task.organization });
      await this.tasks.finish({ id: task.id, attempt: task.attempts, status: TaskStatus.FAILED, data: { error: message, traceback: (error as Error).stack ?? '' } });
      timer({ status: TaskStatus.FAILED });
      return { outcome: TaskStatus.FAILED, error: message };
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async work(task: ClaimedTask): Promise<Record<string, unknown>> {
    if (task.type === TaskType.BUSINESS_RULE) {
      const ruleId = String(task.data.rule_id);
      if (ruleId === 'all') return this.rules.evaluateAll(task.organization_id);
      const rule = findRule(ruleId);
      if (!rule) throw new Error(`business rule ${ruleId} does not exist (any more)`);
      const { created, removed, total } = await this.rules.evaluate(rule, task.organization_id);
      return { created, removed, total };
    }
    if (task.type === TaskType.REPORT) {
      const setId = (task.data.object_set_id as string | null | undefined) ?? null;
      const set = setId ? await this.sets.findOneBy({ id: setId, organization_id: task.organization_id }) : null;
      if (setId && !set) throw new Error(`object set ${setId} does not exist (any more)`);
      const data = await this.reports.findingsSummary(task.organization_id, set);
      const reportId = await this.reports.save({ organization_id: task.organization_id, report_type: 'findings_summary', object_set_id: setId, task_id: task.id, data });
      return { report_id: reportId, total_findings: data.total_findings };
    }
    throw new Error(`a ${task.type} task does not run here`);
  }
}
