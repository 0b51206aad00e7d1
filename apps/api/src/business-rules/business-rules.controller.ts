import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';
import {
  BUSINESS_RULES,
  BusinessRule,
  findRule,
  FindingTypeDefinition,
  FindingTypeRepository,
  OBJECT_TYPES,
  RuleEngine,
  SEVERITIES,
  Severity,
  TaskType,
  TaskView,
} from '@kat/domain';
import { TaskIntake } from '@kat/queue';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { conflict, notFound } from '../common/errors';
import { Page, PageOf } from '../common/pagination';
import { TaskResponse } from '../tasks/dto/task.dto';
import { requireOrganization } from '../tasks/tasks.service';

export class UpdateBusinessRuleDto {
  @ApiProperty()
  @IsBoolean()
  enabled: boolean;
}

type RuleView = Omit<BusinessRule, 'sql'> & { enabled: boolean };

export class BusinessRuleDto implements RuleView {
  @ApiProperty({ example: 'missing_spf' }) rule_id: string;
  @ApiProperty({ example: 'Missing SPF' }) name: string;
  @ApiProperty() description: string;
  @ApiProperty({ enum: OBJECT_TYPES, example: 'hostname', description: 'the type of the objects it finds about' })
  object_type: string;
  @ApiProperty({ type: [String], example: ['KAT-NO-SPF'], description: 'the codes of the finding types it raises' })
  finding_types: string[];
  @ApiProperty({
    type: [String],
    example: ['dns_records'],
    description: 'plugins whose COMPLETED tasks must have scanned or produced an object for a finding about it',
  })
  requires: string[];
  @ApiProperty({ description: "the organization's switch" }) enabled: boolean;
}

export class BusinessRulePage extends PageOf(BusinessRuleDto) {}

export class FindingTypeDto implements FindingTypeDefinition {
  @ApiProperty({ example: 'KAT-NO-SPF' }) code: string;
  @ApiProperty({ example: 'No SPF record' }) name: string;
  @ApiProperty() description: string;
  @ApiProperty() recommendation: string;
  @ApiProperty({ enum: SEVERITIES }) severity: Severity;
  @ApiProperty({ example: 5.0, minimum: 0, maximum: 10 }) score: number;
}

export class FindingTypePage extends PageOf(FindingTypeDto) {}

const NO_RULE = [
  404,
  'no business rule with this rule_id',
  'business rule KAT-NOPE does not exist; the rules are KAT-NO-SPF, …',
] as const;

/** The business rules of the catalogue, switched on or off per organization. */
@ApiTags('business-rules')
@ApiTokenAuth()
@ApiErrors(400, 401, 403)
@Controller()
export class BusinessRulesController {
  constructor(
    private readonly engine: RuleEngine,
    private readonly intake: TaskIntake,
    private readonly findingTypeRows: FindingTypeRepository,
    private readonly audit: AuditTrail,
  ) {}

  @Get('business-rules')
  @ApiOperation({
    summary: 'List the business rules',
    description: "Each with the organization's switch; all of them: next_cursor is always null.",
  })
  @ApiOkResponse({ type: BusinessRulePage })
  async list(@CurrentCaller() caller: Caller): Promise<Page<RuleView>> {
    const organizationId = requireOrganization(caller.scope);
    const results = await Promise.all(BUSINESS_RULES.map((rule) => this.view(rule, organizationId)));
    return { results, next_cursor: null, count: results.length };
  }

  @Patch('business-rules/:rule_id')
  @ApiOperation({ summary: 'Switch a business rule on or off for the organization' })
  @ApiOkResponse({ type: BusinessRuleDto, description: 'the rule, with its switch' })
  @ApiErrors(NO_RULE)
  async update(
    @CurrentCaller() caller: Caller,
    @Param('rule_id') ruleId: string,
    @Body() dto: UpdateBusinessRuleDto,
  ): Promise<RuleView> {
    const rule = this.rule(ruleId);
    await this.engine.setEnabled(rule.rule_id, requireOrganization(caller.scope), dto.enabled);
    const organization = caller.scope.organizationCode;
    await this.audit.record('business_rule.update', { id: rule.rule_id, organization }, { enabled: dto.enabled });
    return this.view(rule, requireOrganization(caller.scope));
  }

  /** Creates and queues a business_rule task for the rule. */
  @Post('business-rules/:rule_id/run')
  @HttpCode(201)
  @ApiOperation({ summary: 'Run a business rule now', description: 'Creates and queues a business_rule task.' })
  @ApiCreatedResponse({ type: TaskResponse, description: 'the business_rule task, queued' })
  @ApiErrors(NO_RULE, [
    409,
    'the rule is switched off for the organization',
    'business rule KAT-NO-SPF is disabled for this organization',
  ])
  async run(@CurrentCaller() caller: Caller, @Param('rule_id') ruleId: string): Promise<TaskView> {
    const organizationId = requireOrganization(caller.scope);
    const rule = this.rule(ruleId);
    if (!(await this.engine.isEnabled(rule.rule_id, organizationId)))
      throw conflict(`business rule ${ruleId} is disabled for this organization`);
    const { task } = await this.intake.submit({
      organization_id: organizationId,
      type: TaskType.BUSINESS_RULE,
      data: { rule_id: rule.rule_id },
    });
    await this.audit.record(
      'business_rule.run',
      { id: rule.rule_id, organization: task.organization },
      { task_id: task.id },
    );
    return task;
  }

  @Get('finding-types')
  @ApiOperation({
    summary: 'List the finding types',
    description: 'Each with its severity, score and recommendation; most severe first, all of them.',
  })
  @ApiOkResponse({ type: FindingTypePage })
  async findingTypes(): Promise<Page<FindingTypeDefinition>> {
    const results = await this.findingTypeRows.list();
    return { results, next_cursor: null, count: results.length };
  }

  private rule(ruleId: string): BusinessRule {
    const rule = findRule(ruleId);
    if (!rule)
      throw notFound(
        `business rule ${ruleId} does not exist; the rules are ${BUSINESS_RULES.map((r) => r.rule_id).join(', ')}`,
      );
    return rule;
  }

  private async view(rule: BusinessRule, organizationId: number): Promise<RuleView> {
    const { sql: _sql, ...described } = rule;
    return { ...described, enabled: await this.engine.isEnabled(rule.rule_id, organizationId) };
  }
}
