import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ReportRepository, StoredReport } from '@kat/domain';
import { Caller, CurrentCaller } from '../auth/authenticated';
import { notFound } from '../common/errors';
import { DEFAULT_PAGE_SIZE, PageQuery } from '../common/pagination';
import { uuidParam } from '../common/uuid-param';
import { requireOrganization } from '../tasks/tasks.service';
import { reportHtml } from './report-html';

/** Reports that report tasks generated: JSON, or a printable HTML page. */
@ApiTags('reports')
@ApiBearerAuth()
@Controller('reports')
export class ReportsController {
  constructor(private readonly reports: ReportRepository) {}

  @Get()
  async list(@CurrentCaller() caller: Caller, @Query() query: PageQuery) {
    const results = await this.reports.list(requireOrganization(caller.scope), query.limit ?? DEFAULT_PAGE_SIZE);
    return { results, next_cursor: null, count: results.length };
  }

  @Get(':id')
  get(@CurrentCaller() caller: Caller, @Param('id', uuidParam('id')) id: string): Promise<StoredReport> {
    return this.find(caller, id);
  }

  @Get(':id/download')
  @ApiProduces('text/html')
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
