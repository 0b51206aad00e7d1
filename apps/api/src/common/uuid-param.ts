import { NotFoundException, ParseUUIDPipe } from '@nestjs/common';
import { badRequest } from './errors';

/** A path parameter that must be a UUID: a malformed one is a 400 naming it, not a 404. */
export const uuidParam = (name: string) =>
  new ParseUUIDPipe({ exceptionFactory: () => badRequest(`${name} must be a UUID`) });

/** A page's id in its path: anything but a UUID names no page, so it is a 404. */
export const pageIdParam = () =>
  new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException(['no such page: its id is not a UUID']) });

/** A path parameter that must be a row's integer id: anything else is a 400 naming it. */
export const intIdParam = (name: string) => ({
  transform(value: string): number {
    if (!/^[1-9]\d{0,8}$/.test(value)) throw badRequest(`${name} must be a positive integer`);
    return Number(value);
  },
});
