import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';

/** An operation as the contract reads it. */
interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}

/** One response the API sent, as a client received it. */
export interface LiveResponse {
  method: string;
  /** The path as requested, with its query. */
  url: string;
  status: number;
  contentType: string;
  body: Buffer;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
/** Where the Ajv schemas of the document's components are registered. */
const COMPONENTS_ID = 'openapi-components';

/**
 * A live response checked against the OpenAPI document: its status must be one the operation
 * documents, its content type one the status documents, and a JSON body must match the schema.
 * Paths that are no operation of the document (the web pages, the queue dashboard) are not its concern.
 */
export class OpenApiContract {
  private readonly operations: Array<{
    route: string;
    method: string;
    pattern: RegExp;
    literals: number;
    op: Operation;
  }>;
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly validators = new Map<object, ValidateFunction>();

  constructor(document: OpenAPIObject) {
    addFormats(this.ajv);
    // $refs point at '#/components/schemas/X' of the document; here they point at one registered schema.
    const relink = <T>(schema: T): T =>
      JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${COMPONENTS_ID}#/$defs/`));
    this.ajv.addSchema({ $id: COMPONENTS_ID, $defs: relink(document.components?.schemas ?? {}) });
    this.operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, Operation>)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({
          route: `${method.toUpperCase()} ${path}`,
          method: method.toUpperCase(),
          pattern: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}/?$`),
          literals: path.split('/').filter((segment) => segment && !segment.startsWith('{')).length,
          op: relink(op),
        })),
    );
    for (const { route } of this.operations) contractSeen.routes.add(route);
  }

  /** The documented route (`GET /api/v1/tasks/{id}`) a request is for; undefined if none. */
  routeOf(method: string, url: string): string | undefined {
    return this.operationOf(method, url)?.route;
  }

  /** What is wrong with a response, each problem a sentence naming the route and status; [] if nothing. */
  problems(response: LiveResponse): string[] {
    const found = this.operationOf(response.method, response.url);
    if (!found) return [];
    const where = `${found.route} answered ${response.status}`;
    const documented = found.op.responses[String(response.status)] ?? found.op.responses.default;
    if (!documented) return [`${where}, which it does not document (${Object.keys(found.op.responses).join(', ')})`];
    const content = documented.content ?? {};
    const mediaType = response.contentType.split(';')[0].trim();
    if (response.body.length === 0) {
      return Object.keys(content).length === 0 || response.method === 'HEAD'
        ? []
        : [`${where} with no body, documented as ${Object.keys(content).join(' or ')}`];
    }
    if (Object.keys(content).length === 0) return [`${where} with a ${mediaType} body, documented as having none`];
    // */* documents a body of any media type (a plugin's output file is of the plugin's).
    const entry = content[mediaType] ?? content['*/*'];
    if (!entry) return [`${where} with ${mediaType}, documented as ${Object.keys(content).join(' or ')}`];
    if (mediaType !== 'application/json') return [];
    if (!entry.schema) return [`${where} with JSON whose schema is not documented`];
    const validate = this.validatorOf(entry.schema);
    let body: unknown;
    try {
      body = JSON.parse(response.body.toString('utf8'));
    } catch {
      return [`${where} with a body that is not JSON`];
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (error) => `${where}: body${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`,
    );
  }

  private operationOf(method: string, url: string) {
    const path = url.split('?')[0];
    return this.operations
      .filter((o) => o.method === method && o.pattern.test(path))
      .sort((a, b) => b.literals - a.literals)[0];
  }

  private validatorOf(schema: object): ValidateFunction {
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.validators.set(schema, validate);
    }
    return validate;
  }
}

/** What this test file's API responses showed so far; the setup file (contract-setup.ts) reads it. */
export const contractSeen = {
  /** Problems, each once: the file fails on any. */
  problems: new Set<string>(),
  /** `<route> <status>` of every response to a documented route, for the ledger of the run. */
  answers: new Set<string>(),
  /** Every operation of the document (`GET /api/v1/tasks`), once an API was started. */
  routes: new Set<string>(),
};

/**
 * Express middleware that keeps each response's body as it is sent and, once sent, checks it
 * against the contract (contractSeen); `contract` is read at that time, as the document exists
 * only once the app is configured.
 */
export function checkLiveResponses(contract: () => OpenApiContract | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const chunks: Buffer[] = [];
    const keep = (chunk: unknown, encoding?: unknown) => {
      if (typeof chunk === 'string')
        chunks.push(Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
      else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
    };
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk, rest[0]);
      return write(chunk, ...rest);
    }) as Response['write'];
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'function') keep(chunk, rest[0]);
      return end(chunk, ...rest);
    }) as Response['end'];
    res.on('finish', () => {
      const checker = contract();
      if (!checker) return;
      const response: LiveResponse = {
        method: req.method,
        url: req.originalUrl,
        status: res.statusCode,
        contentType: String(res.getHeader('content-type') ?? ''),
        body: Buffer.concat(chunks),
      };
      for (const problem of checker.problems(response)) contractSeen.problems.add(problem);
      const route = checker.routeOf(response.method, response.url);
      if (route) contractSeen.answers.add(`${route} ${response.status}`);
    });
    next();
  };
}
