import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { TenantScope } from '@kat/domain';

/** Who is calling: set on the request by the AuthGuard. */
export interface Caller {
  tokenId: number;
  isAdmin: boolean;
  /** The token's own organization; null for admin tokens. */
  organizationId: number | null;
  organizationCode: string | null;
  /** What the caller may see on this request (an admin's `?organization=` narrows it). */
  scope: TenantScope & { organizationCode: string | null };
  /** Set for a plugin container's KAT_API_TOKEN: the one task run it may act for. */
  plugin?: { taskId: string; pluginId: string; inputObject: string };
}

export const IS_PUBLIC = 'kat:public';
export const ADMIN_ONLY = 'kat:admin-only';
export const PLUGIN_TOKEN_ALLOWED = 'kat:plugin-token-allowed';

/** A route anyone may call (health, docs). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
/** A route only admin tokens may call. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);
/** A route a plugin's token may call (the handler still limits it to its own task). */
export const PluginTokenAllowed = () => SetMetadata(PLUGIN_TOKEN_ALLOWED, true);

export const CurrentCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): Caller => {
  return ctx.switchToHttp().getRequest().caller;
});
