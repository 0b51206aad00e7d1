import { AuditTrail } from '../audit/audit-trail';
import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { Organization, ORGANIZATION_CODE_PATTERN, OrganizationRepository } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ADMIN_ONLY_403, ApiErrors } from '../common/api-errors';
import { conflictOnDuplicate } from '../common/errors';
import { Page, PageOf } from '../common/pagination';

export class CreateOrganizationDto {
  @ApiProperty({ example: 'acme' })
  @Matches(ORGANIZATION_CODE_PATTERN, { message: 'code must be a lower-case slug: letters, digits and -, at most 63' })
  code: string;

  @ApiProperty({ example: 'Acme Corporation' })
  @IsString()
  @MaxLength(200)
  name: string;
}

export class OrganizationDto implements Organization {
  @ApiProperty({ type: 'integer', description: 'its row id' }) id: number;
  @ApiProperty({ example: 'acme' }) code: string;
  @ApiProperty({ example: 'Acme Corporation' }) name: string;
  @ApiProperty({ type: String, format: 'date-time' }) created_at: Date;
}

export class OrganizationPage extends PageOf(OrganizationDto) {}

@ApiTags('organizations')
@ApiTokenAuth()
@AdminOnly()
@ApiErrors(400, 401, ADMIN_ONLY_403)
@Controller('organizations')
export class OrganizationsController {
  constructor(
    private readonly organizations: OrganizationRepository,
    private readonly audit: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List the organizations (admin)', description: 'By code, all: next_cursor is always null.' })
  @ApiOkResponse({ type: OrganizationPage })
  async list(): Promise<Page<Organization>> {
    const results = await this.organizations.list();
    return { results, next_cursor: null, count: results.length };
  }

  @Post()
  @ApiOperation({ summary: 'Create an organization (admin)' })
  @ApiCreatedResponse({ type: OrganizationDto, description: 'the organization' })
  @ApiErrors([409, 'an organization with this code exists', 'code: organization acme exists already'])
  async create(@Body() dto: CreateOrganizationDto): Promise<Organization> {
    const organization = await conflictOnDuplicate(
      () => this.organizations.create(dto),
      `code: organization ${dto.code} exists already`,
    );
    await this.audit.record(
      'organization.create',
      { id: organization.code, organization: organization.code },
      {
        ...dto,
      },
    );
    return organization;
  }
}
