import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { TaskType } from '@kat/domain';
import { TaskDispatcher, withTimeout } from '@kat/queue';
import { Public } from '../auth/authenticated';
import { ApiErrors } from '../common/api-errors';

const CHECK_TIMEOUT_MS = 1500;

@ApiTags('health')
@Public()
// Only the input no route accepts (hostile-input.ts) is refused here.
@ApiErrors([
  400,
  'input no route accepts: a NUL character, bad percent-encoding or a __proto__ key in the path or query',
  'path: must not contain the NUL character',
])
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly dispatcher: TaskDispatcher,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  @ApiOperation({ summary: 'Is the API process alive?', description: 'No token needed.', security: [] })
  @ApiOkResponse({
    description: 'it answers',
    schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } },
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: PostgreSQL and Redis answer. */
  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Can the API serve requests?',
    description: 'PostgreSQL and Redis answer within 1.5 s. No token needed.',
    security: [],
  })
  ready() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }),
      () => this.redis(),
    ]);
  }

  private async redis() {
    const indicator = this.indicators.check('redis');
    const client = this.dispatcher.queueFor(TaskType.PLUGIN).client;
    if (client.status !== 'ready') return indicator.down({ message: `Redis connection is ${client.status}` });
    try {
      await withTimeout(client.ping(), CHECK_TIMEOUT_MS, 'ping timed out');
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
