import { AuditTrail } from '../audit/audit-trail';
import { Get, Param } from '@nestjs/common';
import { SchedulerStateRepository } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';
import { SignedIn } from '../auth/session.guard';
import { FormPost, formOutcome, PageController } from './page-controller';
import { PageShell } from './page-shell';
import { SignedInShell } from './templates/layout';
import { schedulerPage } from './templates/scheduler';

/** The scheduler's global switch and its periodic jobs' switches: for admins. */
@PageController()
@SignedIn()
@AdminOnly()
export class SchedulerPagesController {
  constructor(
    private readonly scheduler: SchedulerStateRepository,
    private readonly audit: AuditTrail,
  ) {}

  @Get('scheduler/')
  async show(@PageShell() shell: SignedInShell): Promise<string> {
    return schedulerPage(shell, await this.scheduler.globalEnabled(), await this.scheduler.jobs());
  }

  @FormPost('scheduler/toggle')
  toggle() {
    return formOutcome('/scheduler/', async () => {
      const enabled = !(await this.scheduler.globalEnabled());
      await this.scheduler.setGlobalEnabled(enabled);
      await this.audit.record('scheduler.update', { id: null, organization: null }, { enabled });
      return `Scheduler ${enabled ? 'enabled' : 'disabled'}.`;
    });
  }

  @FormPost('scheduler/jobs/:name/toggle')
  toggleJob(@Param('name') name: string) {
    return formOutcome('/scheduler/', async () => {
      const job = await this.scheduler.job(name);
      if (!job) throw new Error('no such job');
      await this.scheduler.updateJob(job.name, { enabled: !job.enabled });
      await this.audit.record('scheduler.job.update', { id: job.name, organization: null }, { enabled: !job.enabled });
      return `${job.name} ${job.enabled ? 'disabled' : 'enabled'}.`;
    });
  }
}
