import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Caller, CurrentCaller, PluginTokenAllowed } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { uuidParam } from '../common/uuid-param';
import { PageQuery } from '../common/pagination';
import { ObjectTaskPage } from '../objects/object.dto';
import { ObjectsService } from '../objects/objects.service';
import {
  CreatedTasksResponse,
  BulkActionResponse,
  CreatePluginTasksDto,
  CreateTaskDto,
  ListTasksQuery,
  TaskFiltersDto,
  TaskStatsQuery,
  TaskStatsResponse,
  TaskLogsResponse,
  TaskPage,
  TaskResponse,
} from './dto/task.dto';
import { TasksService } from './tasks.service';

/** A task as its errors name it, for the examples. */
const TASK = 'task 0b5ca9c4-5e1c-4b7e-9a51-3f6f1c2d8e90';
const NO_TASK = [404, 'no task with this id in the organization', `${TASK} does not exist`] as const;

@ApiTags('tasks')
@ApiTokenAuth()
@ApiErrors(400, 401, 403)
@Controller('tasks')
export class TasksController {
  constructor(
    private readonly tasks: TasksService,
    private readonly objectStore: ObjectsService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a task (PENDING) and queue it' })
  @ApiResponse({ status: 201, type: TaskResponse, description: 'created' })
  @ApiResponse({
    status: 200,
    type: TaskResponse,
    description: 'an active task for this plugin and input exists: that one',
  })
  async create(
    @CurrentCaller() caller: Caller,
    @Body() dto: CreateTaskDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<TaskResponse> {
    const { task, created } = await this.tasks.create(caller.scope, dto);
    response.status(created ? 201 : 200);
    return task;
  }

  @Post('bulk')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create many plugin tasks (PENDING) and queue them',
    description:
      'All or nothing: one invalid task (tasks.<i>.<field> in the message) and none is created. ' +
      'An input with an active task of the plugin gets that task.',
  })
  @ApiResponse({ status: 201, type: CreatedTasksResponse })
  createPluginTasks(@CurrentCaller() caller: Caller, @Body() dto: CreatePluginTasksDto): Promise<CreatedTasksResponse> {
    return this.tasks.createPluginTasks(caller.scope, dto);
  }

  @Post('retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Retry every matching FAILED or CANCELLED task',
    description:
      "The body takes the list's filters; the caller's organization only (an admin's: all, or ?organization=). " +
      'One statement. A plugin task whose plugin and input have an active task stays as it is; of several ' +
      'matching tasks of one plugin and input, the newest is retried.',
  })
  @ApiOkResponse({ type: BulkActionResponse, description: 'how many were retried' })
  @ApiErrors([409, 'a matching task became active meanwhile', 'a matching task became active meanwhile: …'])
  retryMatching(@CurrentCaller() caller: Caller, @Body() filters: TaskFiltersDto): Promise<BulkActionResponse> {
    return this.tasks.retryMatching(caller.scope, filters);
  }

  @Post('cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel every matching PENDING or RUNNING task',
    description:
      "The body takes the list's filters; the caller's organization only (an admin's: all, or ?organization=). " +
      'One statement; running plugins are stopped at their next heartbeat.',
  })
  @ApiOkResponse({ type: BulkActionResponse, description: 'how many were cancelled' })
  cancelMatching(@CurrentCaller() caller: Caller, @Body() filters: TaskFiltersDto): Promise<BulkActionResponse> {
    return this.tasks.cancelMatching(caller.scope, filters);
  }

  @Get('stats')
  @ApiOperation({
    summary: 'Count tasks per hour or day and status',
    description:
      "The tasks created in each bucket (UTC) from since to until, by their status now; the list's filters apply. " +
      'At most 1000 buckets.',
  })
  @ApiOkResponse({ type: TaskStatsResponse })
  stats(@CurrentCaller() caller: Caller, @Query() query: TaskStatsQuery): Promise<TaskStatsResponse> {
    return this.tasks.stats(caller.scope, query);
  }

  @Get()
  @ApiOperation({ summary: 'List tasks, newest first' })
  @ApiOkResponse({ type: TaskPage })
  list(@CurrentCaller() caller: Caller, @Query() query: ListTasksQuery): Promise<TaskPage> {
    return this.tasks.list(caller.scope, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a task' })
  @ApiOkResponse({ type: TaskResponse })
  @ApiErrors(NO_TASK)
  get(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskResponse> {
    return this.tasks.get(caller.scope, id);
  }

  @Post(':id/run')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue a PENDING task now',
    description: 'Past its turn, its back-off and its rate limit.',
  })
  @ApiResponse({ status: 202, type: TaskResponse })
  @ApiErrors(
    NO_TASK,
    [409, 'the task is not PENDING', `${TASK} is RUNNING; only a PENDING task can be run`],
    [
      503,
      'Redis could not be reached: the task stays PENDING and is queued when it is back',
      'the queue is unreachable; the task stays PENDING and is queued when it is back',
    ],
  )
  run(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskResponse> {
    return this.tasks.run(caller.scope, id);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Retry a FAILED or CANCELLED task',
    description: 'The same task, PENDING again, back in the waiting line.',
  })
  @ApiOkResponse({ type: TaskResponse })
  @ApiErrors(NO_TASK, [
    409,
    'the task is not FAILED or CANCELLED, or another task of its plugin on its input is active',
    `${TASK} is COMPLETED; only a FAILED or CANCELLED task can be retried`,
  ])
  retry(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskResponse> {
    return this.tasks.retry(caller.scope, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a PENDING or RUNNING task',
    description: "A RUNNING task's plugin container is stopped.",
  })
  @ApiOkResponse({ type: TaskResponse })
  @ApiErrors(NO_TASK, [
    409,
    'the task is not PENDING or RUNNING',
    `${TASK} is COMPLETED; only a PENDING or RUNNING task can be cancelled`,
  ])
  cancel(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskResponse> {
    return this.tasks.cancel(caller.scope, id);
  }

  @Get(':id/objects')
  @ApiOperation({
    summary: 'List the objects a task produced',
    description: 'Its ObjectTask records, newest first.',
  })
  @ApiOkResponse({ type: ObjectTaskPage })
  @ApiErrors(NO_TASK)
  async producedObjects(
    @CurrentCaller() caller: Caller,
    @Param('id', uuidParam('id')) id: string,
    @Query() query: PageQuery,
  ) {
    await this.tasks.get(caller.scope, id);
    return this.objectStore.objectTasks(caller.scope, {
      task_id: id,
      limit: query.limit?.toString(),
      cursor: query.cursor,
    });
  }

  @Get(':id/logs')
  @ApiOperation({ summary: "Get a task's logs", description: "Its plugin's stdout and stderr, each capped." })
  @ApiOkResponse({ type: TaskLogsResponse })
  @ApiErrors(NO_TASK)
  logs(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskLogsResponse> {
    return this.tasks.logs(caller.scope, id);
  }

  @Get(':id/output')
  @PluginTokenAllowed()
  @ApiOperation({
    summary: "Download a task's output file",
    description:
      "A raw-output plugin's stdout, byte for byte, with the plugin's media type. X-KAT-Output-Bytes says how " +
      'many bytes the plugin printed and X-KAT-Output-Truncated whether the file was cut at RAW_OUTPUT_CAP_BYTES. ' +
      "A normalizer task's plugin token may read exactly the file that is its input.",
  })
  @ApiResponse({
    status: 200,
    description: "the file, as the plugin's media type",
    content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiErrors([404, 'no output file', `${TASK} has no output file`])
  async output(
    @CurrentCaller() caller: Caller,
    @Param('id', uuidParam('id')) id: string,
    @Res() response: Response,
  ): Promise<void> {
    const file = await this.tasks.outputFile(caller, id);
    response
      .status(200)
      .set({
        'Content-Type': file.media_type,
        // A plugin chooses the media type: never let a browser render it as our origin's page.
        'Content-Disposition': `attachment; filename="${id}.out"`,
        'Content-Security-Policy': "sandbox; default-src 'none'",
        'X-KAT-Output-Bytes': String(file.bytes),
        'X-KAT-Output-Truncated': String(file.truncated),
      })
      .end(file.content);
  }
}
