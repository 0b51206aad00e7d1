import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mountQueueDashboard } from './web/queue-dashboard';
import { mountWebPages } from './web/web-pages';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

export const API_PREFIX = 'api/v1';

/** Prefix, validation, OpenAPI, the queue dashboard and the web pages: shared by main.ts and the tests. */
export function configureApp(app: NestExpressApplication): void {
  // 1,000 objects per request fit well within this.
  app.useBodyParser('json', { limit: '10mb' });
  app.disable('x-powered-by');
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health', 'health/ready', 'metrics'] });
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
  mountWebPages(app);
}
