import { Get, Header, Redirect } from '@nestjs/common';
import { Public } from '../auth/authenticated';
import { STYLESHEET } from './html';
import { DASHBOARD_SCRIPT } from './templates/dashboard-script';
import { PageController } from './page-controller';

/** The site's entry, the stylesheet every page links and the dashboard's script. */
@PageController()
@Public()
export class SiteController {
  @Get()
  @Redirect('/dashboard/', 302)
  home(): void {}

  @Get('web.css')
  @Header('Content-Type', 'text/css')
  @Header('Cache-Control', 'max-age=3600')
  stylesheet(): string {
    return STYLESHEET;
  }

  @Get('dashboard.js')
  @Header('Content-Type', 'text/javascript')
  @Header('Cache-Control', 'max-age=3600')
  dashboardScript(): string {
    return DASHBOARD_SCRIPT;
  }
}
