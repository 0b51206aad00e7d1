import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { OBJECT_CATALOGUE, OBJECT_KEY_FIELDS, OBJECT_TYPES, ObjectTaskRecord, StoredObject } from '@kat/domain';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';
import type { Response } from 'express';
import { Caller, CurrentCaller, PluginTokenAllowed } from '../auth/authenticated';
import { badRequest } from '../common/errors';
import { Page } from '../common/pagination';
import { MAX_OBJECTS_PER_REQUEST, ObjectsService } from './objects.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@ApiTags('objects')
@ApiBearerAuth()
@Controller()
export class ObjectsController {
  constructor(
    private readonly objects: ObjectsService,
    private readonly audit: AuditTrail,
  ) {}

  @Get('object-types')
  @ApiOperation({ summary: "The object types: each one's key fields and JSON schema" })
  objectTypes() {
    const schemas = validationMetadatasToSchemas({ refPointerPrefix: '#/definitions/' });
    return {
      results: OBJECT_TYPES.map((type) => ({
        object_type: type,
        description: OBJECT_CATALOGUE[type].description,
        key_fields: OBJECT_KEY_FIELDS[type],
        schema: schemas[OBJECT_CATALOGUE[type].schema.name],
      })),
    };
  }

  @Post('objects/:type')
  @PluginTokenAllowed()
  @ApiOperation({
    summary: `Create or update one object, or a list of up to ${MAX_OBJECTS_PER_REQUEST}, by natural key`,
  })
  @ApiQuery({
    name: 'task_id',
    required: false,
    description: 'a RUNNING plugin task: an ObjectTask is recorded per object',
  })
  @ApiBody({ schema: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] } })
  @ApiResponse({ status: 201, description: 'one object (or, for a list, counts and the objects) as stored' })
  async create(
    @CurrentCaller() caller: Caller,
    @Param('type') type: string,
    @Body() body: unknown,
    @Query('task_id') taskId: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    if (taskId !== undefined && !UUID.test(taskId)) throw badRequest('task_id must be a UUID');
    const result = await this.objects.ingest(caller, this.objects.objectType(type), body, taskId);
    response.status(result.created > 0 ? 201 : 200);
    if (!Array.isArray(body)) return result.objects[0];
    return { count: result.objects.length, created: result.created, updated: result.updated, results: result.objects };
  }

  @Get('objects/:type')
  @ApiOperation({ summary: 'Objects of a type in key order; filter by any key field (e.g. ?network=internet)' })
  list(
    @CurrentCaller() caller: Caller,
    @Param('type') type: string,
    @Query() query: Record<string, string>,
  ): Promise<Page<StoredObject>> {
    return this.objects.list(caller.scope, this.objects.objectType(type), query);
  }

  @Get('objects/:type/:pk')
  @PluginTokenAllowed()
  get(@CurrentCaller() caller: Caller, @Param('type') type: string, @Param('pk') pk: string): Promise<StoredObject> {
    return this.objects.get(caller, this.objects.objectType(type), pk);
  }

  @Delete('objects/:type/:pk')
  @HttpCode(204)
  async delete(@CurrentCaller() caller: Caller, @Param('type') type: string, @Param('pk') pk: string): Promise<void> {
    await this.objects.delete(caller.scope, this.objects.objectType(type), pk);
    await this.audit.record('object.delete', { id: `${type}|${pk}`, organization: caller.scope.organizationCode });
  }

  @Get('object-tasks')
  @ApiOperation({
    summary: 'Which task produced which object; filters task_id, plugin_id, input_object, output_object',
  })
  objectTasks(
    @CurrentCaller() caller: Caller,
    @Query() query: Record<string, string>,
  ): Promise<Page<ObjectTaskRecord>> {
    if (query.task_id !== undefined && !UUID.test(query.task_id)) throw badRequest('task_id must be a UUID');
    return this.objects.objectTasks(caller.scope, query);
  }
}
