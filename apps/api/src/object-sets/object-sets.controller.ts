import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiPropertyOptional, ApiTags, PartialType } from '@nestjs/swagger';
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
import { QueryFailedError } from 'typeorm';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { badRequest, conflict, notFound } from '../common/errors';
import { DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, Page, PageQuery } from '../common/pagination';
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

/** Object sets: a saved selection of objects of one type, for schedules and reports. */
@ApiTags('object-sets')
@ApiBearerAuth()
@Controller('object-sets')
export class ObjectSetsController {
  constructor(
    private readonly sets: ObjectSetRepository,
    private readonly audit: AuditTrail,
  ) {}

  @Get()
  async list(@CurrentCaller() caller: Caller): Promise<Page<ObjectSet>> {
    const results = await this.sets.listInOrganization(requireOrganization(caller.scope));
    return { results, next_cursor: null, count: results.length };
  }

  @Post()
  async create(@CurrentCaller() caller: Caller, @Body() dto: CreateObjectSetDto): Promise<ObjectSet> {
    checkQuery(dto.object_type, dto.query);
    const organization_id = requireOrganization(caller.scope);
    const id = await this.save(() => this.sets.create(organization_id, dto), dto.name);
    await this.audit.record('object_set.create', { id, organization: caller.scope.organizationCode }, { ...dto });
    return this.get(caller, id);
  }

  @Get(':id')
  async get(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<ObjectSet> {
    const set = await this.sets.findInOrganization(requireOrganization(caller.scope), id);
    if (!set) throw notFound(`object set ${id} does not exist`);
    return set;
  }

  @Patch(':id')
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

  private async save<T>(write: () => Promise<T>, name: string): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof QueryFailedError && (error as { code?: string }).code === '23505')
        throw conflict(`name: an object set named ${name} exists already`);
      throw error;
    }
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
