import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TenantScope } from '../auth/tenant-scope';
import { MicroBatcher } from '../tasks/micro-batcher';

export const AUDIT_VIA = ['api', 'web', 'cli'] as const;

/** One operator action, as it is recorded. */
export interface NewAuditEntry {
  /** The organization the target belongs to; null for what belongs to none (a plugin, the scheduler). */
  organization_code: string | null;
  /** The token that acted; null for the CLI, which acts as whoever runs it on the server. */
  actor_token_id: number | null;
  /** Who, in words: the token's id and name, or `cli`. */
  actor: string;
  via: (typeof AUDIT_VIA)[number];
  /** `<target type>.<verb>`, e.g. `task.cancel`, `schedule.update`, `token.revoke`. */
  action: string;
  target_type: string;
  target_id: string | null;
  /** What changed: the fields sent, a switch's new value, a count. Never a secret. */
  changes: Record<string, unknown>;
}

/** Who acted, as an entry records it. */
export type AuditActor = Pick<NewAuditEntry, 'actor_token_id' | 'actor' | 'via'>;

export interface AuditEntry extends Omit<NewAuditEntry, 'organization_code'> {
  id: string;
  at: Date;
  organization: string | null;
}

export interface AuditFilters {
  action?: string;
  target_type?: string;
  target_id?: string;
}

/**
 * The append-only audit log (a trigger refuses changes). Entries recorded at the same moment, say
 * by many concurrent task creations, share one INSERT.
 */
@Injectable()
export class AuditLogRepository {
  private readonly inserts = new MicroBatcher<NewAuditEntry, void>((entries) => this.insert(entries), {
    maxBatch: 500,
    maxInFlight: 2,
  });

  constructor(private readonly db: DataSource) {}

  /** Records an entry; resolves once it is committed. */
  record(entry: NewAuditEntry): Promise<void> {
    return this.inserts.submit(entry);
  }

  private async insert(entries: NewAuditEntry[]): Promise<void[]> {
    await this.db.query(
      `INSERT INTO audit_entry (organization_id, organization_code, actor_token_id, actor, via, action, target_type,
                                target_id, changes)
       SELECT (SELECT id FROM organization WHERE code = e.organization_code), e.organization_code, e.actor_token_id,
              e.actor, e.via, e.action, e.target_type, e.target_id, coalesce(e.changes, '{}')
       FROM jsonb_to_recordset($1::jsonb) AS e(organization_code text, actor_token_id int, actor text, via text,
            action text, target_type text, target_id text, changes jsonb)`,
      [JSON.stringify(entries)],
    );
    return entries.map(() => undefined);
  }

  /**
   * Entries in scope, newest first, `limit` at most, below the id `before` (the next page). An
   * organization's: audit_entry_organization; all of them: the primary key.
   */
  list(scope: TenantScope, filters: AuditFilters, limit: number, before?: string): Promise<AuditEntry[]> {
    return this.db.query(
      // The id as text (a bigint can exceed a JavaScript number); ordered by the column, not the text.
      `SELECT id::text, at, organization_code AS organization, actor_token_id, actor, via, action, target_type,
              target_id, changes
       FROM audit_entry
       WHERE ($1::int IS NULL OR organization_id = $1) AND ($2::bigint IS NULL OR id < $2)
         AND ($3::text IS NULL OR action = $3) AND ($4::text IS NULL OR target_type = $4)
         AND ($5::text IS NULL OR target_id = $5)
       ORDER BY audit_entry.id DESC LIMIT $6`,
      [
        scope.organizationId,
        before ?? null,
        filters.action ?? null,
        filters.target_type ?? null,
        filters.target_id ?? null,
        limit,
      ],
    );
  }
}
