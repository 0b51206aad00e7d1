import { Injectable } from '@nestjs/common';
import { ClaimedTask, ObjectSetRepository, ReportRepository, TaskStatus } from '@kat/domain';
import { HandlerOutcome, LOST, TaskHandler } from '../task-handler';

/** A report task: summarises the organization's findings (or those of an object set) and stores the report. */
@Injectable()
export class ReportTaskHandler implements TaskHandler {
  constructor(
    private readonly reports: ReportRepository,
    private readonly sets: ObjectSetRepository,
  ) {}

  async handle(task: ClaimedTask): Promise<HandlerOutcome> {
    const setId = (task.data.object_set_id as string | null | undefined) ?? null;
    const set = setId ? await this.sets.findInOrganization(task.organization_id, setId) : null;
    if (setId && !set)
      return { status: TaskStatus.FAILED, error: `object set ${setId} does not exist (any more)`, traceback: '' };
    const data = await this.reports.findingsSummary(task.organization_id, set);
    const report = {
      organization_id: task.organization_id,
      report_type: 'findings_summary' as const,
      object_set_id: setId,
      task_id: task.id,
      data,
    };
    const reportId = await this.reports.save(report, task.attempts);
    if (!reportId) return { status: 'stopped', reason: LOST };
    return {
      status: TaskStatus.COMPLETED,
      data: { result: { report_id: reportId, total_findings: data.total_findings } },
    };
  }
}
