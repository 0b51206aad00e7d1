import type { Type } from '@nestjs/common';
import { type ApiPropertyOptions, getSchemaPath } from '@nestjs/swagger';

/**
 * A property that is a `model` or null. OpenAPI 3.0.3's `nullable` adds null only to the `type` beside
 * it, so `{nullable: true, allOf: [$ref]}` still refuses null (the model is an object): null is a
 * branch of its own. The model must be in the document: @ApiExtraModels on the class with the property.
 */
export const nullableRef = (model: Type<unknown>, options: ApiPropertyOptions = {}): ApiPropertyOptions => ({
  ...options,
  oneOf: [{ $ref: getSchemaPath(model) }, { type: 'object', nullable: true, enum: [null] }],
});
