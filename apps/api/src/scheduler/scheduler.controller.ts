import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import {
  IsBoolean,
  IsOptional,
  IsString,
  Validate,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { nextRun, SchedulerJobState, SchedulerStateRepository } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ADMIN_ONLY_403, ApiErrors } from '../common/api-errors';
import { notFound } from '../common/errors';

@ValidatorConstraint({ name: 'cron' })
class IsCron implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    try {
      return typeof value === 'string' && nextRun(value) instanceof Date;
    } catch {
      return false;
    }
  }
  defaultMessage(): string {
    return 'cron must be a cron expression of 5 fields (or 6, seconds first), e.g. "*/5 * * * *"';
  }
}

export class UpdateSchedulerDto {
  @ApiProperty()
  @IsBoolean()
  enabled: boolean;
}

export class UpdateSchedulerJobDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ example: '*/5 * * * *' })
  @IsOptional()
  @IsString()
  @Validate(IsCron)
  cron?: string;
}

export class SchedulerJobDto implements SchedulerJobState {
  @ApiProperty({ example: 'create-scheduled-tasks' }) name: string;
  @ApiProperty() enabled: boolean;
  @ApiProperty({ example: '* * * * *' }) cron: string;
  @ApiProperty({ type: String, format: 'date-time' }) next_run_at: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'null: it has not run yet' })
  last_run_at: Date | null;
  @ApiProperty({ type: 'integer', nullable: true }) last_duration_ms: number | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'what its last run did, e.g. the tasks it created',
  })
  last_result: Record<string, unknown> | null;
}

export class SchedulerStateDto {
  @ApiProperty({ description: 'off: no job runs, whatever its own switch' }) enabled: boolean;
  @ApiProperty({ type: [SchedulerJobDto] }) jobs: SchedulerJobDto[];
}

/** Scheduler toggling: stored in PostgreSQL, applied by every scheduler replica at its next poll. */
@ApiTags('scheduler')
@ApiTokenAuth()
@AdminOnly()
@ApiErrors(400, 401, ADMIN_ONLY_403)
@Controller('scheduler')
export class SchedulerController {
  constructor(
    private readonly state: SchedulerStateRepository,
    private readonly audit: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({ summary: "Get the scheduler's switch and jobs", description: 'Each job with its enabled and cron.' })
  @ApiOkResponse({ type: SchedulerStateDto })
  async get(): Promise<SchedulerStateDto> {
    return { enabled: await this.state.globalEnabled(), jobs: await this.state.jobs() };
  }

  @Patch()
  @ApiOperation({
    summary: 'Switch the scheduler on or off',
    description: 'Every scheduler replica applies it at its next poll.',
  })
  @ApiOkResponse({ type: SchedulerStateDto, description: "the scheduler's switch and jobs" })
  async update(@Body() dto: UpdateSchedulerDto): Promise<SchedulerStateDto> {
    await this.state.setGlobalEnabled(dto.enabled);
    await this.audit.record('scheduler.update', { id: null, organization: null }, { enabled: dto.enabled });
    return this.get();
  }

  @Patch('jobs/:name')
  @ApiOperation({ summary: "Change a scheduler job's enabled or cron" })
  @ApiOkResponse({ type: SchedulerJobDto, description: 'the job, changed' })
  @ApiErrors([
    404,
    'no scheduler job of this name',
    'scheduler job nightly does not exist; the jobs are reconcile-tasks, …',
  ])
  async updateJob(@Param('name') name: string, @Body() dto: UpdateSchedulerJobDto): Promise<SchedulerJobState> {
    const job = await this.state.updateJob(name, dto);
    if (!job)
      throw notFound(
        `scheduler job ${name} does not exist; the jobs are ${(await this.state.jobs()).map((j) => j.name).join(', ')}`,
      );
    await this.audit.record('scheduler.job.update', { id: name, organization: null }, { ...dto });
    return job;
  }
}
