import { AuditTrail } from '../audit/audit-trail';
import { applyDecorators, Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import {
  OBJECT_CATALOGUE,
  OBJECT_KEY_FIELDS,
  OBJECT_TYPES,
  ObjectTaskRecord,
  ObjectType,
  StoredObject,
} from '@kat/domain';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';
import type { Response } from 'express';
import { Caller, CurrentCaller, PluginTokenAllowed } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { badRequest } from '../common/errors';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page } from '../common/pagination';
import { IngestedObjectsDto, ObjectPage, ObjectTaskPage, ObjectTypeList, StoredObjectDto } from './object.dto';
import { MAX_OBJECTS_PER_REQUEST, ObjectsService } from './objects.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `{type}` in a path: one of the catalogue's types; any other is a 404. */
const TypeParam = () =>
  ApiParam({ name: 'type', enum: OBJECT_TYPES, description: 'the object type; any other is a 404' });
const PrimaryKeyParam = () =>
  ApiParam({
    name: 'pk',
    description: "the object's primary key: its key fields joined with | (URL-encoded: %7C)",
    example: 'internet|example.com',
  });
const NO_TYPE = [
  404,
  'no such object type',
  `object type host does not exist; the types are ${OBJECT_TYPES.join(', ')}`,
] as const;
const NO_OBJECT = [
  404,
  'no such object type, or no object with this key in the organization',
  'hostname internet|example.com does not exist',
] as const;

/** `limit` and `cursor`, for the routes that read their query themselves. */
const PageQueryParams = () =>
  applyDecorators(
    ApiQuery({
      name: 'limit',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE },
    }),
    ApiQuery({
      name: 'cursor',
      required: false,
      type: String,
      description: "opaque, from a previous page's next_cursor",
    }),
  );

/** POST /objects/{type}'s answer: the object posted alone, or the counts and objects of a list. */
const INGESTED = { oneOf: [{ $ref: getSchemaPath(StoredObjectDto) }, { $ref: getSchemaPath(IngestedObjectsDto) }] };

/** Each key field and the types that have it: `network` → hostname, ipaddress, … */
const KEY_FIELD_TYPES = new Map<string, ObjectType[]>();
for (const type of OBJECT_TYPES) {
  for (const field of OBJECT_KEY_FIELDS[type])
    KEY_FIELD_TYPES.set(field, [...(KEY_FIELD_TYPES.get(field) ?? []), type]);
}

/** GET /objects/{type}'s filters: every key field of the catalogue, an exact match, for the types that have it. */
const KeyFieldFilters = () =>
  applyDecorators(
    ...[...KEY_FIELD_TYPES].map(([name, types]) =>
      ApiQuery({
        name,
        required: false,
        type: String,
        description: `the key field ${name}, an exact value: a filter of ${types.join(', ')} (of other types, a 400)`,
      }),
    ),
  );

@ApiTags('objects')
@ApiTokenAuth()
@ApiExtraModels(IngestedObjectsDto)
@ApiErrors(400, 401, 403)
@Controller()
export class ObjectsController {
  constructor(
    private readonly objects: ObjectsService,
    private readonly audit: AuditTrail,
  ) {}

  @Get('object-types')
  @ApiOperation({ summary: 'List the object types', description: "Each one's key fields and JSON schema." })
  @ApiOkResponse({ type: ObjectTypeList })
  objectTypes(): ObjectTypeList {
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
    summary: 'Create or update objects by key',
    description:
      `One object, or a list of up to ${MAX_OBJECTS_PER_REQUEST}, upserted by their key fields; all are ` +
      "validated before any is stored (GET /object-types gives each type's schema). A plugin's token must " +
      'name its own task in task_id.',
  })
  @TypeParam()
  @ApiQuery({
    name: 'task_id',
    required: false,
    schema: { type: 'string', format: 'uuid' },
    description: 'a RUNNING plugin task of the organization: an ObjectTask is recorded per object',
  })
  @ApiBody({ schema: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] } })
  @ApiResponse({
    status: 201,
    description: 'one object (or, for a list, counts and the objects) as stored',
    schema: INGESTED,
  })
  @ApiResponse({ status: 200, description: 'as 201, when every object existed already (updated)', schema: INGESTED })
  @ApiErrors(
    [
      403,
      "a read-only token, ?organization= naming another organization, or a plugin's token with another task_id",
      'a plugin token may only write objects with task_id=0b5ca9c4-5e1c-4b7e-9a51-3f6f1c2d8e90',
    ],
    [
      404,
      'no such object type, or task_id names no task of the organization',
      'task_id: task 0b5ca9c4-5e1c-4b7e-9a51-3f6f1c2d8e90 does not exist',
    ],
    [
      409,
      'task_id names a task that is not a RUNNING plugin task',
      'task_id: task 0b5ca9c4-5e1c-4b7e-9a51-3f6f1c2d8e90 is COMPLETED; objects can be added only to a RUNNING task',
    ],
  )
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
  @ApiOperation({
    summary: 'List objects of a type',
    description:
      'In key order. Filter by any key field of the type, exact values: ' +
      '`/objects/hostname?network=internet&name=example.com`; another query parameter is a 400.',
  })
  @TypeParam()
  @KeyFieldFilters()
  @ApiOkResponse({ type: ObjectPage })
  @PageQueryParams()
  @ApiErrors(NO_TYPE)
  list(
    @CurrentCaller() caller: Caller,
    @Param('type') type: string,
    @Query() query: Record<string, string>,
  ): Promise<Page<StoredObject>> {
    return this.objects.list(caller.scope, this.objects.objectType(type), query);
  }

  @Get('objects/:type/:pk')
  @PluginTokenAllowed()
  @ApiOperation({ summary: 'Get an object', description: "A plugin's token may read only its task's input object." })
  @ApiOkResponse({ type: StoredObjectDto })
  @TypeParam()
  @PrimaryKeyParam()
  @ApiErrors(NO_OBJECT)
  get(@CurrentCaller() caller: Caller, @Param('type') type: string, @Param('pk') pk: string): Promise<StoredObject> {
    return this.objects.get(caller, this.objects.objectType(type), pk);
  }

  @Delete('objects/:type/:pk')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an object' })
  @ApiResponse({ status: 204, description: 'deleted' })
  @TypeParam()
  @PrimaryKeyParam()
  @ApiErrors(NO_OBJECT)
  async delete(@CurrentCaller() caller: Caller, @Param('type') type: string, @Param('pk') pk: string): Promise<void> {
    await this.objects.delete(caller.scope, this.objects.objectType(type), pk);
    await this.audit.record('object.delete', { id: `${type}|${pk}`, organization: caller.scope.organizationCode });
  }

  @Get('object-tasks')
  @ApiOperation({
    summary: 'List which task produced which object',
    description: 'ObjectTask records, newest first; each filter is an exact match.',
  })
  @ApiOkResponse({ type: ObjectTaskPage })
  @ApiQuery({ name: 'task_id', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'plugin_id', required: false, type: String, example: 'dns_records' })
  @ApiQuery({
    name: 'input_object',
    required: false,
    type: String,
    description: "the task's input object's primary key",
    example: 'internet|example.com',
  })
  @ApiQuery({
    name: 'output_object',
    required: false,
    type: String,
    description: "the produced object's primary key",
    example: 'internet|example.com|A|192.0.2.1',
  })
  @PageQueryParams()
  objectTasks(
    @CurrentCaller() caller: Caller,
    @Query() query: Record<string, string>,
  ): Promise<Page<ObjectTaskRecord>> {
    if (query.task_id !== undefined && !UUID.test(query.task_id)) throw badRequest('task_id must be a UUID');
    return this.objects.objectTasks(caller.scope, query);
  }
}
