import { Get, Param, Res } from '@nestjs/common';
import { ReportRepository } from '@kat/domain';
import type { Response } from 'express';
import { SignedIn } from '../auth/session.guard';
import { reportHtml } from '../reports/report-html';
import { OrganizationChoices } from './organization-choices';
import { PageController } from './page-controller';
import { PageShell } from './page-shell';
import { SignedInShell } from './templates/layout';
import { noSuchReportPage, reportsPage } from './templates/reports';
import { pageIdParam } from '../common/uuid-param';

/** A report is a document of its own: its inline styles, nothing else, no site chrome. */
const REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'";

/** The organization's HTML reports, and each report as the document it is. */
@PageController()
@SignedIn()
export class ReportPagesController {
  constructor(
    private readonly reports: ReportRepository,
    private readonly organizations: OrganizationChoices,
  ) {}

  @Get('reports/')
  async list(@PageShell() shell: SignedInShell): Promise<string> {
    const { organizationId } = shell.caller.scope;
    const reports = organizationId === null ? null : await this.reports.list(organizationId, 100);
    return reportsPage(shell, reports, await this.organizations.offeredTo(shell.caller));
  }

  @Get('reports/:id/')
  async show(
    @PageShell() shell: SignedInShell,
    @Param('id', pageIdParam()) id: string,
    @Res() res: Response,
  ): Promise<void> {
    const { organizationId } = shell.caller.scope;
    const report = organizationId === null ? null : await this.reports.get(organizationId, id);
    if (!report) {
      res.status(404).type('html').send(noSuchReportPage(shell));
      return;
    }
    res.type('html').set('Content-Security-Policy', REPORT_POLICY).send(reportHtml(report));
  }
}
