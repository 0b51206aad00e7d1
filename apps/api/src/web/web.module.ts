import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { OrganizationChoices } from './organization-choices';
import { ReportPagesController } from './report-pages.controller';
import { SchedulePagesController } from './schedule-pages.controller';
import { SchedulerPagesController } from './scheduler-pages.controller';
import { SessionController } from './session.controller';
import { SiteController } from './site.controller';
import { TaskPagesController } from './task-pages.controller';
import { TokenPagesController } from './token-pages.controller';
import { AuditPagesController } from './audit-pages.controller';
import { DashboardPagesController } from './dashboard-pages.controller';
import { ObjectPagesController } from './object-pages.controller';
import { CataloguePagesController } from './catalogue-pages.controller';

/**
 * The operators' pages, served by the api: server-rendered HTML, a small stylesheet, and one small
 * script of our own (the dashboard's live update).
 * Signed in with a server-side session whose random id is an HttpOnly, SameSite=Strict cookie
 * (SessionGuard); every
 * page is scoped to the token's organization (admins pick one); every button is a form POST with
 * a CSRF token. A page is a controller method that gathers its data and a template (templates/)
 * that renders it. TasksService and ObjectsService come from the ApiModule, as the API's do.
 */
@Module({
  imports: [AuthModule],
  controllers: [
    SiteController,
    SessionController,
    DashboardPagesController,
    TaskPagesController,
    ObjectPagesController,
    CataloguePagesController,
    SchedulePagesController,
    SchedulerPagesController,
    ReportPagesController,
    TokenPagesController,
    AuditPagesController,
  ],
  providers: [OrganizationChoices],
})
export class WebModule {}
