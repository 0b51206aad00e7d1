import type { INestApplication } from '@nestjs/common';
import { METHODS } from 'node:http';
import request from 'supertest';

/** `METHOD /path/{param}`: one way to name a route, whether OpenAPI or Express spelled it. */
export function routeKey(method: string, path: string): string {
  const template = path.replace(/:(\w+)/g, '{$1}').replace(/(.)\/+$/, '$1');
  return `${method.toUpperCase()} ${template}`;
}

/** Every operation of the OpenAPI document the running API serves. */
export async function openApiRoutes(app: INestApplication): Promise<string[]> {
  const { body } = await request(app.getHttpServer()).get('/api/docs-json').expect(200);
  const verbs = METHODS.map((m) => m.toLowerCase());
  return Object.entries(body.paths as Record<string, object>).flatMap(([path, operations]) =>
    Object.keys(operations)
      .filter((method) => verbs.includes(method))
      .map((method) => routeKey(method, path)),
  );
}

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
  slash?: boolean;
}

/**
 * Every route in the Express app's router stack, routers walked recursively (Express 5: a layer
 * keeps its mount path in `rawPath`). Middleware mounted at a path that is not a router (a
 * sub-app such as the queue dashboard, static files) answers anything below it: `USE /path`.
 */
export function expressRoutes(app: INestApplication): string[] {
  const routes = new Set<string>();
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const methods = Object.keys(layer.route.methods);
        // Nest binds module middleware with app.all() (createMiddlewareFactory): it answers nothing itself.
        if (METHODS.every((m) => methods.includes(m.toLowerCase()))) continue;
        for (const method of methods) routes.add(routeKey(method, prefix + stringPath(layer.route.path)));
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, layer.slash ? prefix : prefix + stringPath(layer.rawPath));
      } else if (!layer.slash) {
        routes.add(routeKey('USE', prefix + stringPath(layer.rawPath)));
      }
      // What is left is pass-through middleware on every path (body parsers): not an endpoint.
    }
  };
  walk((app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } }).router.stack, '');
  return [...routes];
}

function stringPath(path: unknown): string {
  if (typeof path !== 'string') throw new Error(`cannot classify a route whose path is not a string: ${String(path)}`);
  return path;
}
