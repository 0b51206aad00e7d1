import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { TenantScope, TokenAccess } from '@kat/domain';

/** Who is calling: set on the request by the AuthGuard (a header) or the SessionGuard (a page). */
export interface Caller {
  tokenId: number;
  tokenName: string;
  /** read: GET only; write: any route of its organization; admin: also its organization's tokens. */
  access: TokenAccess;
  /** When the token stops working; null: never. A token it makes cannot outlive it. */
  expiresAt: Date | null;
  /** A token of every organization (`?organization=` picks one). */
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
export const TOKEN_ADMIN = 'kat:token-admin';

/** A route anyone may call (health, docs). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
/** A route only admin tokens may call. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);
/** A route for tokens with `admin` access: an organization's admin, or an admin of all. */
export const TokenAdmin = () => SetMetadata(TOKEN_ADMIN, true);
/** A route a plugin's token may call (the handler still limits it to its own task). */
export const PluginTokenAllowed = () => SetMetadata(PLUGIN_TOKEN_ALLOWED, true);

export const CurrentCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): Caller => {
  return ctx.switchToHttp().getRequest().caller;
});

/** Methods that change nothing, which read-only tokens may use. */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why `caller` may not call a route with these needs; null when it may. */
export function refusal(caller: Caller, method: string, needs: { adminOnly: boolean; tokenAdmin: boolean }) {
  if (needs.adminOnly && !caller.isAdmin) return 'this needs an admin token';
  if (needs.tokenAdmin && caller.access !== 'admin') return 'this needs a token with admin access';
  if (caller.access === 'read' && !SAFE_METHODS.has(method)) {
    return `this token is read-only: ${method} needs a token with write access`;
  }
  return null;
}
