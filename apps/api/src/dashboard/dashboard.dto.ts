import { ApiProperty } from '@nestjs/swagger';
import { TaskStatsBucket } from '../tasks/dto/task.dto';

class PendingByPriority {
  @ApiProperty({ type: 'integer', example: 3 }) priority: number;
  @ApiProperty({ type: 'integer' }) pending: number;
}

class PendingByOrganization {
  @ApiProperty({ example: 'acme' }) organization: string;
  @ApiProperty({ type: 'integer' }) pending: number;
}

class QueueNowDto {
  @ApiProperty({ type: [PendingByPriority] }) pending_by_priority: PendingByPriority[];
  @ApiProperty({
    type: [PendingByOrganization],
    nullable: true,
    description: "an admin's view of all organizations: the 20 with most waiting; null for one organization",
  })
  pending_by_organization: PendingByOrganization[] | null;
  @ApiProperty({ type: 'integer' }) running: number;
}

class PluginHealthDto {
  @ApiProperty({ example: 'dns_records' }) plugin_id: string;
  @ApiProperty({ type: 'integer', description: 'tasks that ended (COMPLETED or FAILED) in the window' }) ended: number;
  @ApiProperty({ type: 'integer' }) failed: number;
  @ApiProperty({ example: 0.05, description: 'failed / ended' }) failure_rate: number;
  @ApiProperty({ type: Number, nullable: true, description: 'seconds from start to end' }) p50_seconds: number | null;
  @ApiProperty({ type: Number, nullable: true }) p95_seconds: number | null;
}

class FrequentErrorDto {
  @ApiProperty({ example: 'plugin dns_records exited with code 1: SERVFAIL' }) error: string;
  @ApiProperty({ type: String, nullable: true }) plugin_id: string | null;
  @ApiProperty({ type: 'integer' }) count: number;
}

/** The system at a glance, over the last 24 hours and now. */
export class DashboardResponse {
  @ApiProperty({ type: String, format: 'date-time', description: 'the window: the 24 hours that end with this one' })
  since: Date;
  @ApiProperty({ type: [TaskStatsBucket], description: 'GET /tasks/stats/ for the window: tasks created each hour' })
  hourly: TaskStatsBucket[];
  @ApiProperty({ type: QueueNowDto }) queue: QueueNowDto;
  @ApiProperty({ type: [PluginHealthDto], description: 'per plugin, the tasks that ended in the window' })
  plugins: PluginHealthDto[];
  @ApiProperty({
    type: [FrequentErrorDto],
    description: 'the 10 most frequent errors of tasks that failed in the window',
  })
  errors: FrequentErrorDto[];
}
