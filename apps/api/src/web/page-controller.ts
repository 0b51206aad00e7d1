import { applyDecorators, Controller, HttpException, Post, Redirect, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validate, ValidationError } from 'class-validator';
import { badRequest } from '../common/errors';
import { WebExceptionFilter } from './web-exception.filter';

/** A controller of web pages: errors as HTML pages, and no part of the API's OpenAPI document. */
export const PageController = () =>
  applyDecorators(Controller(), ApiExcludeController(), UseFilters(WebExceptionFilter));

/**
 * A form's POST: answers 303 to the URL its handler returns (see formOutcome), so that reloading
 * the page it lands on does not send the form again.
 */
export const FormPost = (path: string) => applyDecorators(Post(path), Redirect(undefined, 303));

/**
 * Runs a form's action; the answer goes back to `page` with a notice saying what was done, or why
 * not: any error, as the page explains rather than fails.
 */
export async function formOutcome(page: string, action: () => Promise<string>): Promise<{ url: string }> {
  let notice: string;
  try {
    notice = await action();
  } catch (error) {
    notice = notDone(error);
  }
  return { url: `${page}${page.includes('?') ? '&' : '?'}notice=${encodeURIComponent(notice)}` };
}

/** A form's notice for an action that failed: why, in the error's own words. */
export function notDone(error: unknown): string {
  const response = error instanceof HttpException ? (error.getResponse() as { message?: string[] | string }) : null;
  return `Not done: ${[response?.message ?? (error as Error).message].flat().join('; ')}`;
}

/**
 * A form's or query's values as the API's DTO of that action, checked by the same rules (whitelist,
 * nothing else allowed); a 400 whose messages name the fields, nested ones too, if not.
 */
export async function validated<T extends object>(metatype: ClassConstructor<T>, plain: object): Promise<T> {
  const dto = plainToInstance(metatype, plain);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw badRequest(messages(errors));
  return dto;
}

function messages(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => [...Object.values(e.constraints ?? {}), ...messages(e.children ?? [])]);
}
