import { Get, Header, Redirect } from '@nestjs/common';
import { Public } from '../auth/authenticated';
import { STYLESHEET } from './html';
import { PageController } from './page-controller';

/** The site's entry and the stylesheet every page links. */
@PageController()
@Public()
export class SiteController {
  @Get()
  @Redirect('/tasks/', 302)
  home(): void {}

  @Get('web.css')
  @Header('Content-Type', 'text/css')
  @Header('Cache-Control', 'max-age=3600')
  stylesheet(): string {
    return STYLESHEET;
  }
}
