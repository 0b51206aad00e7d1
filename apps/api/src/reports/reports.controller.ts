import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ReportRepository, StoredReport } from '@kat/domain';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { ApiTokenAuth } from '../common/api-auth';
import { ApiErrors } from '../common/api-errors';
import { notFound } from '../common/errors';
import { DEFAULT_PAGE_SIZE, Page, PageQuery } from '../common/pagination';
import { uuidParam } from '../common/uuid-param';
import { requireOrganization } from '../tasks/tasks.service';
import { reportHtml } from './report-html';
import { ReportDto, ReportPage } from './report.dto';

const NO_REPORT = [
  404,
  'no report with this id in the organization',
  'report 5d2b8f0e-9c3a-4e71-a6d4-1b7f2e8c9a05 does not exist',
] as const;

/** Reports that report tasks generated: JSON, or a printable HTML page. */
@ApiTags('reports')
@ApiTokenAuth()
@ApiErrors(400, 401, 403)
@Controller('reports')
export class ReportsController {
  constructor(private readonly reports: ReportRepository) {}

  @Get()
  @ApiOperation({
    summary: 'List reports',
    description: 'Newest first, without their data: the first `limit` (next_cursor is always null).',
  })
  @ApiOkResponse({ type: ReportPage })
  async list(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<Page<Omit<StoredReport, 'data'>>> {
    const results = await this.reports.list(requireOrganization(caller.scope), query.limit ?? DEFAULT_PAGE_SIZE);
    return { results, next_cursor: null, count: results.length };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a report' })
  @ApiOkResponse({ type: ReportDto, description: 'the report, with its data' })
  @ApiErrors(NO_REPORT)
  get(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<StoredReport> {
    return this.find(caller, id);
  }

  @Get(':id/download')
  @ApiOperation({ summary: 'Download a report as a printable HTML page' })
  @ApiOkResponse({ description: 'the report as HTML', content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiErrors(NO_REPORT)
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
  async download(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<string> {
    return reportHtml(await this.find(caller, id));
  }

  private async find(caller: Caller, id: string): Promise<StoredReport> {
    const report = await this.reports.get(requireOrganization(caller.scope), id);
    if (!report) throw notFound(`report ${id} does not exist`);
    return report;
  }
}
