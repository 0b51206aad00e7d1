import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse, type ApiResponseOptions } from '@nestjs/swagger';

/** Every error the API answers, as errors.ts, ValidationPipe, the AuthGuard and hostile-input.ts make it. */
export class ErrorDto {
  @ApiProperty({ type: 'integer', example: 400, description: 'the HTTP status, again' })
  statusCode: number;

  @ApiPropertyOptional({
    example: 'Bad Request',
    description: "the status's reason phrase (absent when a body parser refused the body: not JSON, or not readable)",
  })
  error?: string;

  @ApiProperty({
    type: [String],
    example: ['data.plugin_id: unknown plugin nmap'],
    description: 'every reason, each a sentence that starts with the field or the thing it is about',
  })
  message: string[];
}

/** The 403 of the routes only admin tokens may call. */
export const ADMIN_ONLY_403 = [
  403,
  'not an admin token (or a read-only one writing, or a plugin token)',
  'this needs an admin token',
] as const;

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 503;

/** 415 has none: only a body parser answers it, and its errors carry no reason phrase. */
const REASON_PHRASES: Partial<Record<ErrorStatus, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  503: 'Service Unavailable',
};

/** What each status means on any route, and a message as the API writes it. */
const GENERIC: Record<ErrorStatus, { description: string; message: string }> = {
  400: {
    description:
      'the request is not valid: each reason names its field (body, query or path). Also a NUL character ' +
      'anywhere, a body nested deeper than 32 levels, a __proto__ key, or an unknown ?organization=',
    message: 'organization: no organization has the code acme',
  },
  401: {
    description: 'no Authorization header, or a token that is not valid, revoked or expired',
    message: 'the API token is not valid',
  },
  403: {
    description:
      "the token may not do this: a read-only token's write, a plugin's token, or ?organization= naming " +
      "an organization that is not the token's",
    message: 'organization: this token belongs to acme and cannot act for other',
  },
  404: { description: 'it does not exist (in the organization)', message: 'plugin nmap does not exist' },
  409: { description: 'it cannot be done as things are', message: 'code: organization acme exists already' },
  413: {
    description: 'the body is larger than the body parsers accept: 10 MB of JSON, 16 kB of a form',
    message: 'body: larger than this route accepts',
  },
  415: {
    description: 'the body is in a charset or content encoding the body parsers cannot read',
    message: 'unsupported charset "LATIN1"',
  },
  503: { description: 'Redis could not be reached', message: 'the queue is unreachable' },
};

/** A status, or a status with what it means on this route: its description and an example message. */
export type ErrorSpec = ErrorStatus | readonly [ErrorStatus, string, string];

/** The document's response for an error status, with its ErrorDto shape and an example. */
function errorResponse(spec: ErrorSpec): ApiResponseOptions {
  const [status, description, message] = typeof spec === 'number' ? [spec] : spec;
  return {
    status,
    description: description ?? GENERIC[status].description,
    type: ErrorDto,
    example: { statusCode: status, error: REASON_PHRASES[status], message: [message ?? GENERIC[status].message] },
  };
}

/**
 * Documents the errors a controller (all its routes) or a handler can answer. A handler's entry for
 * a status replaces its controller's.
 */
export function ApiErrors(...specs: ErrorSpec[]): MethodDecorator & ClassDecorator {
  return applyDecorators(...specs.map((spec) => ApiResponse(errorResponse(spec))));
}

/**
 * What every operation can answer, for DocumentBuilder.addGlobalResponse: the body parsers run
 * before any route, on any method, and refuse a body too large or one they cannot read.
 */
export const BODY_PARSER_ERRORS: ApiResponseOptions[] = [errorResponse(413), errorResponse(415)];
