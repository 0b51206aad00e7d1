import { Get, Param, Query } from '@nestjs/common';
import { FindingRepository, PluginRepository, SEVERITIES, Severity } from '@kat/domain';
import { AuditTrail } from '../audit/audit-trail';
import { AdminOnly } from '../auth/authenticated';
import { SignedIn } from '../auth/session.guard';
import { notFound } from '../common/errors';
import { OrganizationChoices } from './organization-choices';
import { FormPost, formOutcome, PageController } from './page-controller';
import { PageShell } from './page-shell';
import { findingsPage, pluginsPage } from './templates/catalogue';
import { SignedInShell } from './templates/layout';

const FINDINGS_SHOWN = 500;

/** What the rules found, and the plugins that scan. */
@PageController()
@SignedIn()
export class CataloguePagesController {
  constructor(
    private readonly findings: FindingRepository,
    private readonly plugins: PluginRepository,
    private readonly organizations: OrganizationChoices,
    private readonly audit: AuditTrail,
  ) {}

  @Get('findings/')
  async findingList(@PageShell() shell: SignedInShell, @Query('severity') asked: unknown): Promise<string> {
    const severity = SEVERITIES.includes(asked as Severity) ? (asked as Severity) : null;
    const organizationId = shell.caller.scope.organizationId;
    const offered = await this.organizations.offeredTo(shell.caller);
    const findings =
      organizationId === null ? null : await this.findings.list(organizationId, severity, FINDINGS_SHOWN);
    return findingsPage(shell, severity, findings, offered);
  }

  @Get('plugins/')
  async pluginList(@PageShell() shell: SignedInShell): Promise<string> {
    return pluginsPage(shell, await this.plugins.list());
  }

  @FormPost('plugins/:plugin_id/toggle')
  @AdminOnly()
  toggle(@PageShell() shell: SignedInShell, @Param('plugin_id') pluginId: string) {
    return formOutcome('/plugins/', async () => {
      const plugin = await this.plugins.findByPluginId(pluginId);
      if (!plugin) throw notFound(`plugin ${pluginId} does not exist`);
      await this.plugins.update(plugin.id, { enabled: !plugin.enabled });
      await this.audit.record('plugin.update', { id: pluginId, organization: null }, { enabled: !plugin.enabled });
      return `${pluginId} ${plugin.enabled ? 'disabled' : 'enabled'}.`;
    });
  }
}
