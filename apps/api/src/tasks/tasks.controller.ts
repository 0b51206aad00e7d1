import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { uuidParam } from '../common/uuid-param';
import { PageQuery } from '../common/pagination';
import { ObjectTaskPage } from '../objects/object.dto';
import { ObjectsService } from '../objects/objects.service';
import {
  CreatedTasksResponse,
  CreatePluginTasksDto,
  CreateTaskDto,
  ListTasksQuery,
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
}
