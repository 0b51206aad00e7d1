import { BadRequestException, ConflictException, ForbiddenException, NotFoundException } from '@nestjs/common';

// Errors always carry `message` as a list of sentences that name the field or the thing, as
// ValidationPipe's do, so clients read every error the same way.
export const badRequest = (message: string | string[]) =>
  new BadRequestException(Array.isArray(message) ? message : [message]);
export const notFound = (message: string) => new NotFoundException([message]);
export const conflict = (message: string) => new ConflictException([message]);
export const forbidden = (message: string) => new ForbiddenException([message]);
