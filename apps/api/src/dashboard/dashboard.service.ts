import { Injectable } from '@nestjs/common';
import { TaskStatsRepository, TenantScope } from '@kat/domain';
import { TasksService } from '../tasks/tasks.service';
import { DashboardResponse } from './dashboard.dto';

const WINDOW_HOURS = 24;
const HOUR = 3_600_000;
const ERRORS_SHOWN = 10;

/** The dashboard's numbers, for the API and the page alike: the same queries. */
@Injectable()
export class DashboardService {
  constructor(
    private readonly tasks: TasksService,
    private readonly stats: TaskStatsRepository,
  ) {}

  async overview(scope: TenantScope): Promise<DashboardResponse> {
    // The 24 hours that end with this one: whole hours but the last, as the chart's bars.
    const until = new Date();
    const since = new Date((Math.floor(until.getTime() / HOUR) - (WINDOW_HOURS - 1)) * HOUR);
    const [{ buckets }, queue, plugins, errors] = await Promise.all([
      this.tasks.stats(scope, { bucket: 'hour', since, until }),
      this.stats.queueNow(scope),
      this.stats.pluginHealth(scope, since),
      this.stats.frequentErrors(scope, since, ERRORS_SHOWN),
    ]);
    return {
      since,
      hourly: buckets,
      queue,
      plugins: plugins.map((p) => ({ ...p, failure_rate: p.ended === 0 ? 0 : p.failed / p.ended })),
      errors,
    };
  }
}
