import { Injectable } from '@nestjs/common';
import { ClaimedTask, findRule, RuleEngine, TaskStatus } from '@kat/domain';
import { HandlerOutcome, TaskHandler } from '../task-handler';

/** A business_rule task: evaluates one rule (or "all") for the task's organization, in SQL. */
@Injectable()
export class BusinessRuleTaskHandler implements TaskHandler {
  constructor(private readonly rules: RuleEngine) {}

  async handle(task: ClaimedTask): Promise<HandlerOutcome> {
    const ruleId = String(task.data.rule_id);
    if (ruleId === 'all')
      return { status: TaskStatus.COMPLETED, data: { result: await this.rules.evaluateAll(task.organization_id) } };
    const rule = findRule(ruleId);
    if (!rule)
      return { status: TaskStatus.FAILED, error: `business rule ${ruleId} does not exist (any more)`, traceback: '' };
    const { created, removed, total } = await this.rules.evaluate(rule, task.organization_id);
    return { status: TaskStatus.COMPLETED, data: { result: { created, removed, total } } };
  }
}
