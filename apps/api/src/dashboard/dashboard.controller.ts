import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { DashboardResponse } from './dashboard.dto';
import { DashboardService } from './dashboard.service';

@ApiTags('dashboard')
@ApiTokenAuth()
@ApiErrors(400, 401, 403)
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get()
  @ApiOperation({
    summary: 'The system at a glance',
    description:
      'Tasks per hour over the last 24 hours, what waits (by priority; for admins by organization) and runs ' +
      "now, each plugin's failure rate and p50 / p95 run time, and the most frequent errors: what /dashboard/ shows.",
  })
  @ApiOkResponse({ type: DashboardResponse })
  overview(@CurrentCaller() caller: Caller): Promise<DashboardResponse> {
    return this.dashboard.overview(caller.scope);
  }
}
