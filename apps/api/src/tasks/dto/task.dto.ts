import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDate,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { TASK_PRIORITY, TASK_STATUSES, TASK_TYPES, TaskStatus, TaskType, WaitingFor } from '@kat/domain';
import { COUNT_CAP, PageOf, PageQuery, ScopedQuery } from '../../common/pagination';
import { Priority, priorityProperty } from '../../common/priority';

export class CreateTaskDto {
  @ApiProperty({ enum: TASK_TYPES, example: 'plugin' })
  @IsIn(TASK_TYPES, { message: `type must be one of: ${TASK_TYPES.join(', ')}` })
  type: TaskType;

  @ApiProperty({
    description: 'plugin: {plugin_id, input_data}; business_rule: {rule_id}; report: {report_type, object_set_id}',
    example: { plugin_id: 'dns_records', input_data: 'internet|example.com' },
  })
  @IsObject()
  data: Record<string, unknown>;

  @ApiPropertyOptional({ ...priorityProperty, default: TASK_PRIORITY.request })
  @IsOptional()
  @Priority()
  priority?: number;
}

/** `data` of a plugin task, checked after the type is known. */
export class PluginTaskDataDto {
  @ApiProperty({ example: 'dns_records' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  plugin_id: string;

  @ApiProperty({ example: 'internet|example.com' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  input_data: string;
}

/** Most plugin tasks one bulk request creates: one statement and one queue round trip for all. */
export const BULK_TASKS_MAX = 1000;

export class CreatePluginTasksDto {
  @ApiProperty({ type: [PluginTaskDataDto], maxItems: BULK_TASKS_MAX, description: 'the `data` of each plugin task' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(BULK_TASKS_MAX)
  @ValidateNested({ each: true })
  @Type(() => PluginTaskDataDto)
  tasks: PluginTaskDataDto[];

  @ApiPropertyOptional({ ...priorityProperty, default: TASK_PRIORITY.bulk, description: 'for every task created' })
  @IsOptional()
  @Priority()
  priority?: number;
}

export class CreatedTasksResponse {
  @ApiProperty({
    type: 'integer',
    description: 'how many tasks are new; the others were active already and are those tasks',
  })
  created: number;
  @ApiProperty({ type: () => [TaskResponse], description: 'one task per requested one, in the same order' })
  results: TaskResponse[];
}

/** Which tasks: the list's filters, also the body of the bulk actions. */
export class TaskFiltersDto {
  @ApiPropertyOptional({ enum: TASK_STATUSES })
  @IsOptional()
  @IsIn(TASK_STATUSES, { message: `status must be one of: ${TASK_STATUSES.join(', ')}` })
  status?: TaskStatus;

  @ApiPropertyOptional({ enum: TASK_TYPES })
  @IsOptional()
  @IsIn(TASK_TYPES, { message: `type must be one of: ${TASK_TYPES.join(', ')}` })
  type?: TaskType;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  plugin_id?: string;

  @ApiPropertyOptional({ description: "the input object's primary key, e.g. internet|example.com" })
  @IsOptional()
  @IsString()
  input_data?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID('all', { message: 'schedule_id must be a UUID' })
  schedule_id?: string;

  @ApiPropertyOptional(priorityProperty)
  @IsOptional()
  @Type(() => Number)
  @Priority()
  priority?: number;

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Transform(({ value }) => toDate(value))
  @IsDate({ message: 'created_after must be an ISO 8601 date-time in the years 1 to 9999' })
  created_after?: Date;

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Transform(({ value }) => toDate(value))
  @IsDate({ message: 'created_before must be an ISO 8601 date-time in the years 1 to 9999' })
  created_before?: Date;
}

export class ListTasksQuery extends IntersectionType(PageQuery, TaskFiltersDto) {}

export const STAT_BUCKETS = ['hour', 'day'] as const;
export type StatBucket = (typeof STAT_BUCKETS)[number];

export class TaskStatsQuery extends IntersectionType(ScopedQuery, TaskFiltersDto) {
  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: "default: the 24 buckets that end with until's",
  })
  @IsOptional()
  @Transform(({ value }) => toDate(value))
  @IsDate({ message: 'since must be an ISO 8601 date-time in the years 1 to 9999' })
  since?: Date;

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'default: now' })
  @IsOptional()
  @Transform(({ value }) => toDate(value))
  @IsDate({ message: 'until must be an ISO 8601 date-time in the years 1 to 9999' })
  until?: Date;

  @ApiPropertyOptional({ enum: STAT_BUCKETS, default: 'hour', description: 'of UTC' })
  @IsOptional()
  @IsIn(STAT_BUCKETS, { message: 'bucket must be hour or day' })
  bucket?: StatBucket;
}

/** The tasks created in one hour or day, by their status now. */
export class TaskStatsBucket {
  @ApiProperty({ type: String, format: 'date-time' }) start: Date;
  @ApiProperty({ type: 'integer' }) PENDING: number;
  @ApiProperty({ type: 'integer' }) RUNNING: number;
  @ApiProperty({ type: 'integer' }) COMPLETED: number;
  @ApiProperty({ type: 'integer' }) FAILED: number;
  @ApiProperty({ type: 'integer' }) CANCELLED: number;
}

export class TaskStatsResponse {
  @ApiProperty({ type: [TaskStatsBucket], description: 'every bucket from since to until, oldest first' })
  buckets: TaskStatsBucket[];
}

/** How many tasks a bulk action changed. */
export class BulkActionResponse {
  @ApiProperty({ type: 'integer', example: 12 }) count: number;
}

/** A date-time the database can store (years 1 to 9999), or the value as given, for IsDate to refuse. */
function toDate(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const date = new Date(value);
  const year = date.getUTCFullYear();
  return Number.isNaN(date.getTime()) || year < 1 || year > 9999 ? value : date;
}

/** A task as the contract shows it. */
export class TaskResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'acme' }) organization: string;
  @ApiProperty({ enum: TASK_TYPES }) type: TaskType;
  @ApiProperty({ enum: TASK_STATUSES }) status: TaskStatus;
  @ApiProperty({ example: { plugin_id: 'dns_records', input_data: 'internet|example.com' } }) data: Record<
    string,
    unknown
  >;
  @ApiProperty() @Type(() => Date) created_at: Date;
  @ApiProperty({ nullable: true, type: Date }) started_at: Date | null;
  @ApiProperty({ nullable: true, type: Date }) ended_at: Date | null;
  @ApiProperty({ type: 'integer' }) attempts: number;
  @ApiProperty({ nullable: true, format: 'uuid', type: String }) schedule_id: string | null;
  @ApiProperty({ nullable: true, format: 'uuid', type: String }) parent_task_id: string | null;
  @ApiProperty({ ...priorityProperty, description: '1 (first) to 9 (last)' }) priority: number;
  @ApiProperty({ nullable: true, type: Date, description: 'a retry after a back-off starts no earlier' })
  run_after: Date | null;
  @ApiProperty({ nullable: true, type: String, description: "its plugin's rate_limit.key, resolved for its input" })
  rate_key: string | null;
  @ApiProperty({
    nullable: true,
    // OpenAPI 3.0.3: `nullable` does not add null to an enum, which must list it.
    enum: ['worker', 'run_after', 'rate_limit', 'turn', null],
    description:
      'why a PENDING task has not started: on the queue for a free worker, a back-off, its rate key has no room, ' +
      'or tasks of higher priority and other organizations go first',
  })
  waiting_for: WaitingFor | null;
}

export class TaskPage extends PageOf(TaskResponse, `matches of the filters, exact up to ${COUNT_CAP}`) {}

export class TaskLogsResponse {
  @ApiProperty() stdout: string;
  @ApiProperty() stderr: string;
  @ApiProperty({ description: 'true when stdout or stderr was longer than the cap and was cut' }) truncated: boolean;
  @ApiProperty() stdout_truncated: boolean;
  @ApiProperty() stderr_truncated: boolean;
}
