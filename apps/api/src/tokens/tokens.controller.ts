import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Length, Matches } from 'class-validator';
import { TOKEN_ACCESS, type TokenAccess, TokenView } from '@kat/domain';
import { Caller, CurrentCaller, TokenAdmin } from '../auth/authenticated';
import { DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, Page, PageQuery } from '../common/pagination';
import { intIdParam } from '../common/uuid-param';
import { TokenRequest, TokensService } from './tokens.service';

export class CreateTokenDto implements TokenRequest {
  @ApiProperty({ example: 'ci pipeline', description: 'what the token is for, 1 to 100 characters' })
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiPropertyOptional({
    enum: TOKEN_ACCESS,
    default: 'write',
    description: "read: GET only; write: every route of its organization; admin: also the organization's tokens",
  })
  @IsOptional()
  @IsIn(TOKEN_ACCESS)
  access?: TokenAccess;

  @ApiPropertyOptional({ example: '2027-01-31T00:00:00Z', nullable: true, description: 'absent or null: never' })
  @IsOptional()
  @IsISO8601({ strict: true })
  @Matches(/^\d{4}-/, { message: 'expires_at must be a date of the years 0001 to 9999' })
  expires_at?: string | null;
}

class TokenViewDto implements TokenView {
  @ApiProperty() id: number;
  @ApiProperty() name: string;
  @ApiProperty({ nullable: true, type: String, description: 'null: an admin token of every organization' })
  organization: string | null;
  @ApiProperty({ enum: TOKEN_ACCESS }) access: TokenAccess;
  @ApiProperty({ enum: ['active', 'expired', 'revoked'] }) status: 'active' | 'expired' | 'revoked';
  @ApiProperty({ nullable: true, type: Date }) expires_at: Date | null;
  @ApiProperty({ nullable: true, type: Date, description: 'to the minute' }) last_used_at: Date | null;
  @ApiProperty({ nullable: true, type: Date }) revoked_at: Date | null;
  @ApiProperty() created_at: Date;
}

class IssuedTokenDto extends TokenViewDto {
  @ApiProperty({ description: 'the secret: shown this once, stored only as a hash' }) token: string;
}

/** API tokens of an organization: for tokens with admin access (its own organization's; an admin's: any). */
@ApiTags('tokens')
@ApiBearerAuth()
@TokenAdmin()
@Controller('tokens')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Get()
  @ApiOperation({ summary: "The organization's tokens, newest first, revoked and expired ones included" })
  async list(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<Page<TokenViewDto>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const before = query.cursor ? decodeCursor<{ i: number }>(query.cursor, (v) => Number.isInteger(v.i)).i : undefined;
    const rows = await this.tokens.list(caller.scope, limit + 1, before);
    const results = rows.slice(0, limit);
    return {
      results,
      next_cursor: rows.length > limit ? encodeCursor({ i: results[results.length - 1].id }) : null,
      count: results.length,
    };
  }

  @Post()
  @ApiOperation({ summary: 'Make a token of the organization; its secret is in the answer, once' })
  issue(@CurrentCaller() caller: Caller, @Body() dto: CreateTokenDto): Promise<IssuedTokenDto> {
    return this.tokens.issue(caller, dto);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One token' })
  get(@CurrentCaller() caller: Caller, @Param('id', intIdParam('id')) id: number): Promise<TokenViewDto> {
    return this.tokens.get(caller.scope, id);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a token: refused at once by every API process, its web sessions ended' })
  revoke(@CurrentCaller() caller: Caller, @Param('id', intIdParam('id')) id: number): Promise<TokenViewDto> {
    return this.tokens.revoke(caller.scope, id);
  }
}
