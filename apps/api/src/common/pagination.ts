import type { Type as Class } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { ORGANIZATION_QUERY_DESCRIPTION } from './api-auth';
import { badRequest } from './errors';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
/** `count` is exact up to this many matches; counting further would make a list as slow as the table is big. */
export const COUNT_CAP = 1_000;

/** `?organization=<code>`: admin tokens act for that organization (read by the AuthGuard). */
export class ScopedQuery {
  @ApiPropertyOptional({ description: ORGANIZATION_QUERY_DESCRIPTION })
  @IsOptional()
  @IsString()
  organization?: string;
}

export class PageQuery extends ScopedQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  @ApiPropertyOptional({ description: "opaque, from a previous page's next_cursor" })
  @IsOptional()
  @IsString()
  cursor?: string;
}

/** A page of a list; its schema in the document is a PageOf class. */
export interface Page<T> {
  results: T[];
  next_cursor: string | null;
  count: number;
}

/**
 * The schema of a page of `item`s, named by the class that extends it:
 * `export class TaskPage extends PageOf(TaskResponse) {}`. `count` says what the count counts.
 */
export function PageOf<T>(item: Class<T>, count = 'the results on this page') {
  class ItemPage implements Page<T> {
    @ApiProperty({ type: [item] })
    results: T[];

    @ApiProperty({ type: String, nullable: true, description: "the next page's cursor; null on the last page" })
    next_cursor: string | null;

    @ApiProperty({ type: 'integer', description: count })
    count: number;
  }
  return ItemPage;
}

/**
 * A page of rows read one beyond `limit` by id, newest first: the extra row says there is a next
 * page, which starts below the last row's id.
 */
export function pageByIdOf<T extends { id: number | string }>(rows: T[], limit: number): Page<T> {
  const results = rows.slice(0, limit);
  return {
    results,
    next_cursor: rows.length > limit ? encodeCursor({ i: results[results.length - 1].id }) : null,
    count: results.length,
  };
}

export function encodeCursor(position: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** Reads a cursor made by encodeCursor, checking its fields with `isValid`. */
export function decodeCursor<T>(cursor: string, isValid: (value: Record<string, unknown>) => boolean): T {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && isValid(value)) return value as T;
  } catch {
    // reported below
  }
  throw badRequest('cursor must be a next_cursor value from a previous page');
}
