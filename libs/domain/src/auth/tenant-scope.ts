/**
 * Whose data a caller may see. `organizationId` null means every organization (an admin token
 * without `?organization=`); repositories add the condition to every query they run.
 */
export interface TenantScope {
  organizationId: number | null;
}

export const ALL_ORGANIZATIONS: TenantScope = { organizationId: null };
