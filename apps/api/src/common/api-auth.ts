import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery } from '@nestjs/swagger';

export const ORGANIZATION_QUERY_DESCRIPTION = 'admin tokens: the organization code to act for';

/**
 * A controller whose routes need a token: their bearer security and `?organization=`, which the
 * AuthGuard reads on every such route. One decorator, so that neither is declared without the other.
 */
export const ApiTokenAuth = () =>
  applyDecorators(
    ApiBearerAuth(),
    ApiQuery({ name: 'organization', required: false, type: String, description: ORGANIZATION_QUERY_DESCRIPTION }),
  );
