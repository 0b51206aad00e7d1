import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { TASK_QUEUES, TaskDispatcher } from '@kat/queue';
import { TaskType } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';

/** The Bull queues: job counts by state and the workers connected to each. */
@ApiTags('queues')
@ApiBearerAuth()
@AdminOnly()
@Controller('queues')
export class QueuesController {
  constructor(private readonly dispatcher: TaskDispatcher) {}

  @Get()
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
