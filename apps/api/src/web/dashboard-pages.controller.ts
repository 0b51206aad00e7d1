import { Get } from '@nestjs/common';
import { SignedIn } from '../auth/session.guard';
import { DashboardService } from '../dashboard/dashboard.service';
import { PageController } from './page-controller';
import { PageShell } from './page-shell';
import { dashboardPage, dashboardPanels } from './templates/dashboard';
import { SignedInShell } from './templates/layout';

/** The landing page after sign-in, and its panels alone, which the page fetches to update itself. */
@PageController()
@SignedIn()
export class DashboardPagesController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get('dashboard/')
  async page(@PageShell() shell: SignedInShell): Promise<string> {
    return dashboardPage(shell, await this.dashboard.overview(shell.caller.scope));
  }

  @Get('dashboard/panels')
  async panels(@PageShell() shell: SignedInShell): Promise<string> {
    return dashboardPanels(shell.caller, await this.dashboard.overview(shell.caller.scope));
  }
}
