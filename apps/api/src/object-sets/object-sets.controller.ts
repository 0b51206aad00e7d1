import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
  PartialType,
} from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import {
  FilterSyntaxError,
  filterFields,
  OBJECT_TYPES,
  ObjectSet,
  ObjectSetRepository,
  ObjectType,
  parseFilter,
  StoredObject,
} from '@kat/domain';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { badRequest, conflictOnDuplicate, notFound } from '../common/errors';
import { DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, Page, PageOf, PageQuery } from '../common/pagination';
import { ObjectPage } from '../objects/object.dto';
import { uuidParam } from '../common/uuid-param';
import { requireOrganization } from '../tasks/tasks.service';

export class CreateObjectSetDto {
  @ApiProperty({ example: 'root domains' })
  @IsString()
  @MaxLength(200)
  name: string;

  @ApiProperty({ enum: OBJECT_TYPES, example: 'hostname' })
  @IsIn(OBJECT_TYPES, { message: `object_type must be one of: ${OBJECT_TYPES.join(', ')}` })
  object_type: ObjectType;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'name $= ".example.com" and network = internet',
    description:
      'null: only object_ids; "": every object of the type; else a filter: FIELD OP VALUE joined by and/or, ' +
      'parentheses; OP is = != ^= (starts with) $= (ends with) *= (contains)',
  })
  @ValidateIf((_, value) => value !== null)
  @IsString()
  @MaxLength(2000)
  query: string | null = null;

  @ApiPropertyOptional({
    example: ['internet|example.com'],
    description: 'primary keys of members, whatever the query says',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10000)
  @IsString({ each: true })
  object_ids: string[] = [];
}

export class UpdateObjectSetDto extends PartialType(CreateObjectSetDto) {}

export class ObjectSetDto implements ObjectSet {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: 'integer', description: "its organization's row id" }) organization_id: number;
  @ApiProperty({ example: 'root domains' }) name: string;
  @ApiProperty({ enum: OBJECT_TYPES, example: 'hostname' }) object_type: ObjectType;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'null: only object_ids; "": every object of the type; else a filter',
  })
  query: string | null;
  @ApiProperty({ type: [String], description: 'primary keys of members, whatever the query says' })
  object_ids: string[];
  @ApiProperty({ type: String, format: 'date-time' }) created_at: Date;
}

export class ObjectSetPage extends PageOf(ObjectSetDto) {}

const NO_SET = [
  404,
  'no object set with this id in the organization',
  'object set 3f0c2a8e-7d41-4c59-b0a6-9e2f1d7c5b34 does not exist',
] as const;
const NAME_TAKEN = [
  409,
  'the organization has an object set of this name',
  'name: an object set named root domains exists already',
] as const;

/** Object sets: a saved selection of objects of one type, for schedules and reports. */
@ApiTags('object-sets')
@ApiTokenAuth()
@ApiErrors(400, 401, 403)
@Controller('object-sets')
export class ObjectSetsController {
  constructor(
    private readonly sets: ObjectSetRepository,
    private readonly audit: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List object sets', description: 'By name, all of them: next_cursor is always null.' })
  @ApiOkResponse({ type: ObjectSetPage })
  async list(@CurrentCaller() caller: Caller): Promise<Page<ObjectSet>> {
    const results = await this.sets.listInOrganization(requireOrganization(caller.scope));
    return { results, next_cursor: null, count: results.length };
  }

  @Post()
  @ApiOperation({
    summary: 'Create an object set',
    description: 'The query is checked against the fields of object_type; a 400 points at what is wrong.',
  })
  @ApiCreatedResponse({ type: ObjectSetDto, description: 'the object set' })
  @ApiErrors(NAME_TAKEN)
  async create(@CurrentCaller() caller: Caller, @Body() dto: CreateObjectSetDto): Promise<ObjectSet> {
    checkQuery(dto.object_type, dto.query);
    const organization_id = requireOrganization(caller.scope);
    const id = await this.save(() => this.sets.create(organization_id, dto), dto.name);
    await this.audit.record('object_set.create', { id, organization: caller.scope.organizationCode }, { ...dto });
    return this.get(caller, id);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get an object set' })
  @ApiOkResponse({ type: ObjectSetDto, description: 'the object set' })
  @ApiErrors(NO_SET)
  async get(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<ObjectSet> {
    const set = await this.sets.findInOrganization(requireOrganization(caller.scope), id);
    if (!set) throw notFound(`object set ${id} does not exist`);
    return set;
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change an object set', description: 'Only the fields given change.' })
  @ApiOkResponse({ type: ObjectSetDto, description: 'the object set, changed' })
  @ApiErrors(NO_SET, NAME_TAKEN)
  async update(
    @CurrentCaller() caller: Caller,
    @Param('id', uuidParam('id')) id: string,
    @Body() dto: UpdateObjectSetDto,
  ): Promise<ObjectSet> {
    const set = await this.get(caller, id);
    const next = { ...set, ...dto };
    checkQuery(next.object_type as ObjectType, next.query);
    await this.save(() => this.sets.update(set.id, dto), next.name);
    await this.audit.record('object_set.update', { id, organization: caller.scope.organizationCode }, { ...dto });
    return this.get(caller, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an object set' })
  @ApiResponse({ status: 204, description: 'deleted' })
  @ApiErrors(NO_SET)
  async delete(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<void> {
    const set = await this.get(caller, id);
    await this.sets.delete(set.id);
    await this.audit.record(
      'object_set.delete',
      { id, organization: caller.scope.organizationCode },
      { name: set.name },
    );
  }

  @Get(':id/objects')
  @ApiOperation({
    summary: "List an object set's members",
    description: 'The objects its query and object_ids select now, in key order.',
  })
  @ApiOkResponse({ type: ObjectPage })
  @ApiErrors(NO_SET)
  async members(
    @CurrentCaller() caller: Caller,
    @Param('id', uuidParam('id')) id: string,
    @Query() query: PageQuery,
  ): Promise<Page<StoredObject>> {
    const set = await this.get(caller, id);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = query.cursor
      ? decodeCursor<{ k: string }>(query.cursor, (v) => typeof v.k === 'string').k
      : undefined;
    const rows = await this.sets.members(set, limit + 1, after);
    const results = rows.slice(0, limit);
    return {
      results,
      next_cursor: rows.length > limit ? encodeCursor({ k: results[results.length - 1].primary_key }) : null,
      count: results.length,
    };
  }

  private save<T>(write: () => Promise<T>, name: string): Promise<T> {
    return conflictOnDuplicate(write, `name: an object set named ${name} exists already`);
  }
}

/** A 400 that points at the error in the filter. */
function checkQuery(type: ObjectType, query: string | null): void {
  if (query === null || query.trim() === '') return;
  try {
    parseFilter(query, filterFields(type));
  } catch (error) {
    if (error instanceof FilterSyntaxError) throw badRequest(`query: ${error.message}`);
    throw error;
  }
}
