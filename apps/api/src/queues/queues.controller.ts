import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TASK_QUEUES, TaskDispatcher } from '@kat/queue';
import { TaskType } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';
import { ADMIN_ONLY_403, ApiErrors } from '../common/api-errors';

/** The Bull queues: job counts by state and the workers connected to each. */
@ApiTags('queues')
@ApiBearerAuth()
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
  async list() {
    const results = await Promise.all(
      (Object.keys(TASK_QUEUES) as TaskType[]).map(async (type) => {
        const queue = this.dispatcher.queueFor(type);
        const [counts, workers] = await Promise.all([queue.getJobCounts(), queue.getWorkers()]);
        return {
          name: queue.name,
          ...counts,
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
