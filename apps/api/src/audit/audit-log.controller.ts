import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { AUDIT_VIA, AuditEntry, AuditLogRepository } from '@kat/domain';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { DEFAULT_PAGE_SIZE, decodeCursor, Page, PageOf, PageQuery, pageByIdOf } from '../common/pagination';

export class AuditLogQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'task.cancel' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string;

  @ApiPropertyOptional({ example: 'task' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  target_type?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  target_id?: string;
}

class AuditEntryDto implements AuditEntry {
  @ApiProperty({ description: 'increasing' }) id: string;
  @ApiProperty({ type: String, format: 'date-time' }) at: Date;
  @ApiProperty({ nullable: true, type: String }) organization: string | null;
  @ApiProperty({ nullable: true, type: 'integer', description: 'null: the CLI' }) actor_token_id: number | null;
  @ApiProperty({ example: 'token 12 (ci pipeline)' }) actor: string;
  @ApiProperty({ enum: AUDIT_VIA }) via: AuditEntry['via'];
  @ApiProperty({ example: 'task.cancel' }) action: string;
  @ApiProperty({ example: 'task' }) target_type: string;
  @ApiProperty({ nullable: true, type: String }) target_id: string | null;
  @ApiProperty({ type: Object, description: 'what changed; never a secret' }) changes: Record<string, unknown>;
}

class AuditEntryPage extends PageOf(AuditEntryDto) {}

/** Who did what: an organization's own entries; an admin's, every organization's (or `?organization=`). */
@ApiTags('audit-log')
@ApiTokenAuth()
@ApiErrors(400, 401, 403)
@Controller('audit-log')
export class AuditLogController {
  constructor(private readonly entries: AuditLogRepository) {}

  @Get()
  @ApiOperation({
    summary: 'List operator actions',
    description: "Newest first. An organization's tokens read its own entries; admin tokens every organization's.",
  })
  @ApiOkResponse({ type: AuditEntryPage })
  async list(@CurrentCaller() caller: Caller, @Query() query: AuditLogQuery): Promise<Page<AuditEntryDto>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const before = query.cursor
      ? decodeCursor<{ i: string }>(query.cursor, (v) => /^\d{1,18}$/.test(String(v.i))).i
      : undefined;
    const rows = await this.entries.list(caller.scope, query, limit + 1, before);
    return pageByIdOf(rows, limit);
  }
}
