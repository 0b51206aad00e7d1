import { BadRequestException, ConflictException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';

// Errors always carry `message` as a list of sentences that name the field or the thing, as
// ValidationPipe's do, so clients read every error the same way.
export const badRequest = (message: string | string[]) =>
  new BadRequestException(Array.isArray(message) ? message : [message]);
export const notFound = (message: string) => new NotFoundException([message]);
export const conflict = (message: string) => new ConflictException([message]);
export const forbidden = (message: string) => new ForbiddenException([message]);

/**
 * Runs a write that a unique constraint guards; its violation (two requests creating the same
 * thing at once, or one that exists) becomes a 409 with `message`, not a 500.
 */
export async function conflictOnDuplicate<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof QueryFailedError && (error as { code?: string }).code === '23505') throw conflict(message);
    throw error;
  }
}
