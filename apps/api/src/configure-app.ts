import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mountQueueDashboard } from './web/queue-dashboard';
import { BODY_PARSER_ERRORS } from './common/api-errors';
import { ClientErrorFilter } from './common/client-errors';
import { rejectHostileInput } from './common/hostile-input';
import { securityHeaders } from './common/security-headers';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document's description: what holds for every operation. */
const API_DESCRIPTION = [
  "The JSON API of OpenKAT's task system: tasks, objects, schedules, plugins and organizations.",
  '',
  'Every operation but the health checks needs `Authorization: Bearer <token>` and is scoped to the ' +
    "token's organization; admin tokens act for one with `?organization=<code>`, which each of them takes.",
  '',
  'Errors are JSON, `message` a list of reasons, each naming its field: ' +
    '`{"statusCode": 400, "error": "Bad Request", "message": ["data.plugin_id: unknown plugin nmap"]}`.',
  '',
  'Paths are listed without a trailing slash, the canonical form; the same path with one (`/api/v1/tasks/`) is ' +
    'accepted too.',
].join('\n');

/**
 * Body parsers, validation, OpenAPI and the queue dashboard: shared by main.ts and the tests.
 * Returns the OpenAPI document it serves (the tests check live responses against it).
 */
export function configureApp(app: NestExpressApplication): OpenAPIObject {
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
    .setDescription(API_DESCRIPTION)
    .setVersion('1')
    .setLicense('EUPL-1.2', 'https://spdx.org/licenses/EUPL-1.2.html')
    // Relative: wherever this document is served from, the API is there too.
    .addServer('/', 'the server that serves this document')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'kat_…',
      description: 'an API token (`kat_…`) from `npm run kat -- create-token` or POST /api/v1/tokens',
    })
    .addGlobalResponse(...BODY_PARSER_ERRORS)
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  mountQueueDashboard(app);
  return document;
}
