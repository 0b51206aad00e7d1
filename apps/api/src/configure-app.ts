import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mountQueueDashboard } from './web/queue-dashboard';
import { ClientErrorFilter } from './common/client-errors';
import { rejectHostileInput } from './common/hostile-input';
import { securityHeaders } from './common/security-headers';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Body parsers, validation, OpenAPI and the queue dashboard: shared by main.ts and the tests. */
export function configureApp(app: NestExpressApplication): void {
  // 1,000 objects per request fit well within this.
  app.useBodyParser('json', { limit: '10mb' });
  // The web pages' forms: a token or a CSRF token, small.
  app.useBodyParser('urlencoded', { extended: false, limit: '16kb' });
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.use(rejectHostileInput);
  app.useGlobalFilters(new ClientErrorFilter(app.getHttpAdapter()));
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: false }),
  );
  const config = new DocumentBuilder()
    .setTitle('KAT task system')
    .setDescription('Tasks, plugins and organizations of the OpenKAT task system')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API token from `npm run kat -- create-token`' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  mountQueueDashboard(app);
}
