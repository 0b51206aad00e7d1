import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { uuidParam } from '../common/uuid-param';
import { PageQuery } from '../common/pagination';
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

@ApiTags('tasks')
@ApiBearerAuth()
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
  @ApiOkResponse({ type: TaskResponse })
  get(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskResponse> {
    return this.tasks.get(caller.scope, id);
  }

  @Post(':id/run')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue a PENDING task now' })
  @ApiResponse({ status: 202, type: TaskResponse })
  run(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskResponse> {
    return this.tasks.run(caller.scope, id);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({ summary: 'FAILED or CANCELLED → PENDING, same id, queued again' })
  @ApiOkResponse({ type: TaskResponse })
  retry(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskResponse> {
    return this.tasks.retry(caller.scope, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'PENDING or RUNNING → CANCELLED; a running plugin container is stopped' })
  @ApiOkResponse({ type: TaskResponse })
  cancel(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskResponse> {
    return this.tasks.cancel(caller.scope, id);
  }

  @Get(':id/objects')
  @ApiOperation({ summary: 'The ObjectTask records of the task: the objects it produced' })
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
  @ApiOperation({ summary: "The plugin's stdout and stderr, capped" })
  @ApiOkResponse({ type: TaskLogsResponse })
  logs(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<TaskLogsResponse> {
    return this.tasks.logs(caller.scope, id);
  }
}
