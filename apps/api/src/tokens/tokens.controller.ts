import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Length, Matches } from 'class-validator';
import { TOKEN_ACCESS, type TokenAccess, TokenView } from '@kat/domain';
import { Caller, CurrentCaller, TokenAdmin } from '../auth/authenticated';
import { DEFAULT_PAGE_SIZE, decodeCursor, Page, PageOf, PageQuery, pageByIdOf } from '../common/pagination';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
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

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    example: '2027-01-31T00:00:00Z',
    nullable: true,
    description: 'absent or null: never',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  @Matches(/^\d{4}-/, { message: 'expires_at must be a date of the years 0001 to 9999' })
  expires_at?: string | null;
}

class TokenViewDto implements TokenView {
  @ApiProperty({ type: 'integer' }) id: number;
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

class TokenPage extends PageOf(TokenViewDto) {}

class IssuedTokenDto extends TokenViewDto {
  @ApiProperty({ description: 'the secret: shown this once, stored only as a hash' }) token: string;
}

const NO_TOKEN = [404, 'no token with this id in the organization', 'token 12 does not exist'] as const;

/** API tokens of an organization: for tokens with admin access (its own organization's; an admin's: any). */
@ApiTags('tokens')
@ApiTokenAuth()
@TokenAdmin()
@ApiErrors(400, 401, [
  403,
  "not a token with admin access, or ?organization= naming an organization that is not the token's",
  'this needs a token with admin access',
])
@Controller('tokens')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Get()
  @ApiOperation({
    summary: "List the organization's tokens",
    description: 'Newest first, revoked and expired ones included; never their secrets.',
  })
  @ApiOkResponse({ type: TokenPage })
  async list(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<Page<TokenViewDto>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const before = query.cursor ? decodeCursor<{ i: number }>(query.cursor, (v) => Number.isInteger(v.i)).i : undefined;
    const rows = await this.tokens.list(caller.scope, limit + 1, before);
    return pageByIdOf(rows, limit);
  }

  @Post()
  @ApiOperation({
    summary: 'Make a token of the organization',
    description: 'Its secret is in the answer, this once. It expires no later than the token that makes it.',
  })
  @ApiCreatedResponse({ type: IssuedTokenDto })
  issue(@CurrentCaller() caller: Caller, @Body() dto: CreateTokenDto): Promise<IssuedTokenDto> {
    return this.tokens.issue(caller, dto);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a token' })
  @ApiOkResponse({ type: TokenViewDto })
  @ApiErrors(NO_TOKEN)
  get(@CurrentCaller() caller: Caller, @Param('id', intIdParam('id')) id: number): Promise<TokenViewDto> {
    return this.tokens.get(caller.scope, id);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Revoke a token',
    description:
      'Refused at once by every API process, its web sessions ended. A token revoked already is answered as it is.',
  })
  @ApiOkResponse({ type: TokenViewDto, description: 'the token, revoked' })
  @ApiErrors(NO_TOKEN, [
    503,
    'revoked, but Redis could not be reached to tell every API process at once',
    'the token is revoked, but Redis could not tell every API process at once: it may work up to 10 s more',
  ])
  revoke(@CurrentCaller() caller: Caller, @Param('id', intIdParam('id')) id: number): Promise<TokenViewDto> {
    return this.tokens.revoke(caller.scope, id);
  }
}
