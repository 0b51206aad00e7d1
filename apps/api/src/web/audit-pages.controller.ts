import { Get, Query } from '@nestjs/common';
import { AuditLogRepository } from '@kat/domain';
import { SignedIn } from '../auth/session.guard';
import { decodeCursor, encodeCursor } from '../common/pagination';
import { PageController } from './page-controller';
import { PageShell } from './page-shell';
import { auditLogPage } from './templates/audit-log';
import { SignedInShell } from './templates/layout';

const PAGE_SIZE = 100;

/** The audit log: the organization's own entries; an admin's, every organization's unless one is chosen. */
@PageController()
@SignedIn()
export class AuditPagesController {
  constructor(private readonly entries: AuditLogRepository) {}

  @Get('audit-log/')
  async list(@PageShell() shell: SignedInShell, @Query() query: Record<string, unknown>): Promise<string> {
    const action = typeof query.action === 'string' ? query.action.slice(0, 100) : '';
    const before =
      typeof query.cursor === 'string' && query.cursor
        ? decodeCursor<{ i: string }>(query.cursor, (v) => /^\d{1,18}$/.test(String(v.i))).i
        : undefined;
    const rows = await this.entries.list(shell.caller.scope, { action: action || undefined }, PAGE_SIZE + 1, before);
    const entries = rows.slice(0, PAGE_SIZE);
    const next = rows.length > PAGE_SIZE ? encodeCursor({ i: entries[entries.length - 1].id }) : null;
    return auditLogPage(shell, entries, action, next);
  }
}
