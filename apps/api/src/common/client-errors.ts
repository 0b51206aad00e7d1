import { ArgumentsHost, Catch, HttpException, PayloadTooLargeException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { QueryFailedError } from 'typeorm';
import { badRequest } from './errors';

/**
 * The client's fault, when it surfaces as something other than an HttpException: a value
 * PostgreSQL refuses (SQLSTATE class 22, data exception: out of range, bad syntax for its type,
 * a bad character) is a 400 quoting the database's reason; a body parser's refusal (too large,
 * not JSON) keeps its 4xx status. Null for anything else, which stays a 500.
 */
export function clientErrorOf(error: unknown): HttpException | null {
  if (error instanceof QueryFailedError) {
    const { code, message } = error.driverError as { code?: string; message?: string };
    if (code?.startsWith('22')) return badRequest(`a value in the request is not valid: ${message}`);
    return null;
  }
  const status = (error as { status?: number; expose?: boolean } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: boolean }).expose) {
    if (status === 413) return new PayloadTooLargeException(['body: larger than this route accepts']);
    return new HttpException({ statusCode: status, message: [(error as Error).message] }, status);
  }
  return null;
}

/** Every route's errors: the client's faults mapped by clientErrorOf, the rest as Nest answers them. */
@Catch()
export class ClientErrorFilter extends BaseExceptionFilter {
  override catch(error: unknown, host: ArgumentsHost): void {
    super.catch(clientErrorOf(error) ?? error, host);
  }
}
