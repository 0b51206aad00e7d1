import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiPropertyOptions,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  IsBoolean,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  Validate,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import {
  formatInterval,
  ObjectSetRepository,
  parseInterval,
  PluginRepository,
  Schedule,
  ScheduleRepository,
  TASK_PRIORITY,
} from '@kat/domain';
import { RUN_NOW, TaskIntake } from '@kat/queue';
import { Priority, priorityProperty } from '../common/priority';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { badRequest, notFound } from '../common/errors';
import { Page, PageOf } from '../common/pagination';
import { uuidParam } from '../common/uuid-param';
import { requireOrganization } from '../tasks/tasks.service';

@ValidatorConstraint({ name: 'interval' })
class IsInterval implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return parseInterval(value) !== null;
  }
  defaultMessage(): string {
    return (
      'interval must be an ISO 8601 duration in weeks, days, hours, minutes or seconds (PT24H, P1D) ' +
      'or a number of seconds, at most ten years'
    );
  }
}

/** An interval in the document: a duration or a number of seconds, as IsInterval takes it. */
const intervalProperty: ApiPropertyOptions = {
  oneOf: [{ type: 'string' }, { type: 'integer' }],
  description:
    'an ISO 8601 duration in weeks, days, hours, minutes or seconds (PT24H, P1D), or a number of seconds; ' +
    'at most ten years',
};

export class CreateScheduleDto {
  @ApiProperty({ example: 'dns_records' })
  @IsString()
  @MaxLength(64)
  plugin_id: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'object_set_id must be a UUID' })
  object_set_id: string;

  @ApiProperty({ ...intervalProperty, example: 'PT24H' })
  @Validate(IsInterval)
  interval: string | number;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    ...priorityProperty,
    nullable: true,
    description: `its ticks' tasks; null: ${TASK_PRIORITY.tick}`,
  })
  @IsOptional()
  @Priority()
  priority?: number | null;
}

export class UpdateScheduleDto {
  @ApiPropertyOptional({ ...intervalProperty, example: 'P7D' })
  @IsOptional()
  @Validate(IsInterval)
  interval?: string | number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    ...priorityProperty,
    nullable: true,
    description: `its ticks' tasks; null: ${TASK_PRIORITY.tick}`,
  })
  @IsOptional()
  @Priority()
  priority?: number | null;
}

const NO_SCHEDULE = [
  404,
  'no schedule with this id in the organization',
  'schedule 7a3e9c1b-2f48-4d6a-8b15-c0d9e4f3a276 does not exist',
] as const;

type ScheduleView = Schedule & { interval: string };
const view = (schedule: Schedule): ScheduleView => ({
  ...schedule,
  interval: formatInterval(schedule.interval_seconds),
});

export class ScheduleDto implements ScheduleView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: 'integer', description: "its organization's row id" }) organization_id: number;
  @ApiProperty({ example: 'dns_records' }) plugin_id: string;
  @ApiProperty({ format: 'uuid' }) object_set_id: string;
  @ApiProperty({ type: 'integer', example: 86400 }) interval_seconds: number;
  @ApiProperty({ example: 'P1D', description: 'interval_seconds as an ISO 8601 duration' }) interval: string;
  @ApiProperty() enabled: boolean;
  @ApiProperty({
    ...priorityProperty,
    type: 'integer',
    nullable: true,
    description: `its ticks' tasks; null: ${TASK_PRIORITY.tick}`,
  })
  priority: number | null;
  @ApiProperty({ type: String, format: 'date-time' }) created_at: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'its last tick; null: none yet' })
  last_run_at: Date | null;
}

export class SchedulePage extends PageOf(ScheduleDto) {}

/** Schedules: "run plugin P on every object of set S at most once per interval". */
@ApiTags('schedules')
@ApiTokenAuth()
@ApiErrors(400, 401, 403)
@Controller('schedules')
export class SchedulesController {
  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly sets: ObjectSetRepository,
    private readonly plugins: PluginRepository,
    private readonly intake: TaskIntake,
    private readonly audit: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List schedules', description: 'All of them: next_cursor is always null.' })
  @ApiOkResponse({ type: SchedulePage })
  async list(@CurrentCaller() caller: Caller): Promise<Page<ScheduleView>> {
    const rows = await this.schedules.listInOrganization(requireOrganization(caller.scope));
    return { results: rows.map(view), next_cursor: null, count: rows.length };
  }

  @Post()
  @ApiOperation({
    summary: 'Create a schedule',
    description:
      'Run a plugin on every object of an object set, at most once per interval; the plugin must consume ' +
      "the set's object type.",
  })
  @ApiCreatedResponse({ type: ScheduleDto, description: 'the schedule' })
  async create(@CurrentCaller() caller: Caller, @Body() dto: CreateScheduleDto): Promise<ScheduleView> {
    const organization_id = requireOrganization(caller.scope);
    const plugin = await this.plugins.findByPluginId(dto.plugin_id);
    if (!plugin) throw badRequest(`plugin_id: unknown plugin ${dto.plugin_id}`);
    const set = await this.sets.findInOrganization(organization_id, dto.object_set_id);
    if (!set) throw badRequest(`object_set_id: object set ${dto.object_set_id} does not exist`);
    if (!plugin.consumes.includes(set.object_type)) {
      throw badRequest(
        `plugin_id: ${plugin.plugin_id} consumes ${plugin.consumes.join(', ')}, ` +
          `not the ${set.object_type} objects of this set`,
      );
    }
    const id = await this.schedules.create({
      organization_id,
      plugin_id: plugin.plugin_id,
      object_set_id: set.id,
      interval_seconds: parseInterval(dto.interval)!,
      enabled: dto.enabled ?? true,
      priority: dto.priority ?? null,
    });
    await this.audit.record('schedule.create', { id, organization: caller.scope.organizationCode }, { ...dto });
    return this.get(caller, id);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a schedule' })
  @ApiOkResponse({ type: ScheduleDto, description: 'the schedule' })
  @ApiErrors(NO_SCHEDULE)
  async get(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<ScheduleView> {
    return view(await this.find(caller, id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a schedule',
    description: 'Its interval, enabled or priority; only the fields given change.',
  })
  @ApiOkResponse({ type: ScheduleDto, description: 'the schedule, changed' })
  @ApiErrors(NO_SCHEDULE)
  async update(
    @CurrentCaller() caller: Caller,
    @Param('id', uuidParam('id')) id: string,
    @Body() dto: UpdateScheduleDto,
  ): Promise<ScheduleView> {
    const schedule = await this.find(caller, id);
    await this.schedules.update(schedule.id, {
      ...(dto.enabled !== undefined && { enabled: dto.enabled }),
      ...(dto.interval !== undefined && { interval_seconds: parseInterval(dto.interval)! }),
      ...(dto.priority !== undefined && { priority: dto.priority }),
    });
    await this.audit.record('schedule.update', { id, organization: caller.scope.organizationCode }, { ...dto });
    return this.get(caller, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a schedule' })
  @ApiResponse({ status: 204, description: 'deleted' })
  @ApiErrors(NO_SCHEDULE)
  async delete(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<void> {
    const schedule = await this.find(caller, id);
    await this.schedules.delete(schedule.id);
    await this.audit.record(
      'schedule.delete',
      { id, organization: caller.scope.organizationCode },
      { plugin_id: schedule.plugin_id, object_set_id: schedule.object_set_id },
    );
  }

  /** Scans the set now, whatever the interval says; objects with an active task are skipped. */
  @Post(':id/run')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run a schedule now',
    description:
      'Creates a task for each object of its set, whatever the interval says; objects with an active task are ' +
      "skipped. The tasks wait in line at the schedule's priority.",
  })
  @ApiOkResponse({
    description: 'how many tasks it created',
    schema: { type: 'object', properties: { tasks_created: { type: 'integer' } }, required: ['tasks_created'] },
  })
  @ApiErrors(NO_SCHEDULE)
  async run(
    @CurrentCaller() caller: Caller,
    @Param('id', uuidParam('id')) id: string,
  ): Promise<{ tasks_created: number }> {
    const schedule = await this.find(caller, id);
    // They join the waiting line at the schedule's priority; the admission starts them in turn.
    const { tasks } = await this.intake.submitScheduled(schedule.id, RUN_NOW);
    await this.audit.record(
      'schedule.run',
      { id, organization: caller.scope.organizationCode },
      { tasks_created: tasks.length },
    );
    return { tasks_created: tasks.length };
  }

  private async find(caller: Caller, id: string): Promise<Schedule> {
    const schedule = await this.schedules.findInOrganization(requireOrganization(caller.scope), id);
    if (!schedule) throw notFound(`schedule ${id} does not exist`);
    return schedule;
  }
}
