import { IsInt, Max, Min } from 'class-validator';

/** A task's priority in the API document: 1 (first) to 9 (last). */
export const priorityProperty = { type: Number, minimum: 1, maximum: 9, example: 3 } as const;

/** A priority's rules, named in the 400's message. */
export function Priority(): PropertyDecorator {
  const message = 'priority must be an integer from 1 to 9';
  return (target, key) => {
    IsInt({ message })(target, key);
    Min(1, { message })(target, key);
    Max(9, { message })(target, key);
  };
}
