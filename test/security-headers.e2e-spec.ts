import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { startApi } from './support/apps';
import { TestEnvironment } from './support/environment';
import { expressRoutes } from './support/route-inventory';
import { signIn } from './support/web-session';

/** The headers a scanner's own UI should send, on every page (found from the router) and the API. */
describe('security headers', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let session: string;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    api = await startApi(environment.settings());
    const token = await environment.token('acme', { admin: true });
    session = (await signIn(api.getHttpServer(), token)).cookie;
  });

  afterAll(async () => {
    await api?.close();
    await environment?.destroy();
  });

  const pages = () =>
    expressRoutes(api)
      .filter((route) => route.startsWith('GET ') && !route.includes('{') && !route.includes(' /api/'))
      .map((route) => route.slice(4));

  it('sends a strict CSP, frame-ancestors none, nosniff and same-origin referrers on every page', async () => {
    expect(pages().length).toBeGreaterThan(5);
    for (const path of [...pages(), '/tasks/00000000-0000-4000-8000-000000000000/', '/api/v1/tasks/']) {
      const response = await request(api.getHttpServer()).get(path).set('Cookie', session);
      const csp = String(response.headers['content-security-policy']);
      expect({ path, csp }).toEqual({ path, csp: expect.stringContaining("default-src 'self'") });
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('same-origin');
    }
  });

  it('leaves Swagger UI and the queue dashboard their inline scripts, with the other headers', async () => {
    const docs = await request(api.getHttpServer()).get('/api/docs/');
    expect(docs.headers['content-security-policy']).toBeUndefined();
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
  });
});
