import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { TASK_QUEUES, TaskDispatcher } from '@kat/queue';
import { TaskType } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ADMIN_ONLY_403, ApiErrors } from '../common/api-errors';

export class QueueWorkerDto {
  @ApiProperty({ example: '10.0.0.7:52114', description: "the worker's Redis connection" }) address: string;
  @ApiProperty({ example: 'plugin', description: 'the queue' }) name: string;
  @ApiProperty({ type: 'integer', description: 'how long it has been connected' }) age_seconds: number;
  @ApiProperty({ type: 'integer', description: 'how long since its last command' }) idle_seconds: number;
}

/** A Bull queue: its jobs by state (Bull's getJobCounts) and its workers. */
export class QueueDto {
  @ApiProperty({ example: 'plugin' }) name: string;
  @ApiProperty({ type: 'integer' }) waiting: number;
  @ApiProperty({ type: 'integer' }) active: number;
  @ApiProperty({ type: 'integer' }) completed: number;
  @ApiProperty({ type: 'integer' }) failed: number;
  @ApiProperty({ type: 'integer' }) delayed: number;
  @ApiProperty({ type: 'integer' }) paused: number;
  @ApiProperty({ type: [QueueWorkerDto] }) workers: QueueWorkerDto[];
}

export class QueueList {
  @ApiProperty({ type: [QueueDto] }) results: QueueDto[];
}

/** The Bull queues: job counts by state and the workers connected to each. */
@ApiTags('queues')
@ApiTokenAuth()
@AdminOnly()
@ApiErrors(400, 401, ADMIN_ONLY_403)
@Controller('queues')
export class QueuesController {
  constructor(private readonly dispatcher: TaskDispatcher) {}

  @Get()
  @ApiOperation({
    summary: 'List the task queues',
    description: 'Per Bull queue: its jobs by state and the workers connected to it.',
  })
  @ApiOkResponse({ type: QueueList })
  async list(): Promise<QueueList> {
    const results = await Promise.all(
      (Object.keys(TASK_QUEUES) as TaskType[]).map(async (type) => {
        const queue = this.dispatcher.queueFor(type);
        const [counts, workers] = await Promise.all([queue.getJobCounts(), queue.getWorkers()]);
        return {
          name: queue.name,
          // Bull counts the paused jobs too; its types leave them out.
          ...(counts as typeof counts & { paused: number }),
          workers: workers.map((w) => ({
            address: w.addr,
            name: w.name,
            age_seconds: Number(w.age),
            idle_seconds: Number(w.idle),
          })),
        };
      }),
    );
    return { results };
  }
}
