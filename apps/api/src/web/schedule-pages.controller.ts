import { AuditTrail } from '../audit/audit-trail';
import { Get, Param } from '@nestjs/common';
import { Schedule, ScheduleRepository } from '@kat/domain';
import { RUN_NOW, TaskIntake } from '@kat/queue';
import { Caller } from '../auth/authenticated';
import { SignedIn } from '../auth/session.guard';
import { OrganizationChoices } from './organization-choices';
import { FormPost, formOutcome, PageController } from './page-controller';
import { PageShell } from './page-shell';
import { SignedInShell } from './templates/layout';
import { withOrg } from './templates/parts';
import { schedulesPage } from './templates/schedules';
import { pageIdParam } from '../common/uuid-param';

/** The organization's schedules: each one's switch, and Run now. */
@PageController()
@SignedIn()
export class SchedulePagesController {
  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly intake: TaskIntake,
    private readonly organizations: OrganizationChoices,
    private readonly audit: AuditTrail,
  ) {}

  @Get('schedules/')
  async list(@PageShell() shell: SignedInShell): Promise<string> {
    const { organizationId } = shell.caller.scope;
    const schedules = organizationId === null ? null : await this.schedules.listInOrganization(organizationId);
    return schedulesPage(shell, schedules, await this.organizations.offeredTo(shell.caller));
  }

  @FormPost('schedules/:id/toggle')
  toggle(@PageShell() shell: SignedInShell, @Param('id', pageIdParam()) id: string) {
    return formOutcome(withOrg(shell.caller, '/schedules/'), async () => {
      const schedule = await this.ownSchedule(shell.caller, id);
      await this.schedules.update(schedule.id, { enabled: !schedule.enabled });
      await this.audit.record(
        'schedule.update',
        { id, organization: shell.caller.scope.organizationCode },
        { enabled: !schedule.enabled },
      );
      return `Schedule ${schedule.enabled ? 'disabled' : 'enabled'}.`;
    });
  }

  @FormPost('schedules/:id/run')
  run(@PageShell() shell: SignedInShell, @Param('id', pageIdParam()) id: string) {
    return formOutcome(withOrg(shell.caller, '/schedules/'), async () => {
      const { tasks } = await this.intake.submitScheduled((await this.ownSchedule(shell.caller, id)).id, RUN_NOW);
      await this.audit.record(
        'schedule.run',
        { id, organization: shell.caller.scope.organizationCode },
        { tasks_created: tasks.length },
      );
      return `${tasks.length} task(s) created.`;
    });
  }

  private async ownSchedule(caller: Caller, id: string): Promise<Schedule> {
    const schedule = await this.schedules.findInOrganization(caller.scope.organizationId ?? -1, id);
    if (!schedule) throw new Error('no such schedule');
    return schedule;
  }
}
