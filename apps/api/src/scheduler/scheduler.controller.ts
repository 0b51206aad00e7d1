import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
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

/** Scheduler toggling: stored in PostgreSQL, applied by every scheduler replica at its next poll. */
@ApiTags('scheduler')
@ApiBearerAuth()
@AdminOnly()
@Controller('scheduler')
export class SchedulerController {
  constructor(
    private readonly state: SchedulerStateRepository,
    private readonly audit: AuditTrail,
  ) {}

  @Get()
  async get(): Promise<{ enabled: boolean; jobs: SchedulerJobState[] }> {
    return { enabled: await this.state.globalEnabled(), jobs: await this.state.jobs() };
  }

  @Patch()
  async update(@Body() dto: UpdateSchedulerDto): Promise<{ enabled: boolean; jobs: SchedulerJobState[] }> {
    await this.state.setGlobalEnabled(dto.enabled);
    await this.audit.record('scheduler.update', { id: null, organization: null }, { enabled: dto.enabled });
    return this.get();
  }

  @Patch('jobs/:name')
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
