import { Body, Get, Param, Query } from '@nestjs/common';
import { FindingRepository, PluginRepository, SEVERITIES, Severity } from '@kat/domain';
import { AdminOnly } from '../auth/authenticated';
import { SignedIn } from '../auth/session.guard';
import { badRequest } from '../common/errors';
import { UpdatePluginDto } from '../plugins/dto/plugin.dto';
import { PluginsService } from '../plugins/plugins.service';
import { OrganizationChoices } from './organization-choices';
import { FormPost, formOutcome, PageController, validated } from './page-controller';
import { PageShell } from './page-shell';
import { findingsPage, pluginsPage } from './templates/catalogue';
import { SignedInShell } from './templates/layout';

const FINDINGS_SHOWN = 500;

/** What the rules found, and the plugins that scan (admins switch them and edit their limits and settings). */
@PageController()
@SignedIn()
export class CataloguePagesController {
  constructor(
    private readonly findings: FindingRepository,
    private readonly plugins: PluginRepository,
    private readonly pluginChanges: PluginsService,
    private readonly organizations: OrganizationChoices,
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
  toggle(@Param('plugin_id') pluginId: string) {
    return formOutcome('/plugins/', async () => {
      const plugin = await this.pluginChanges.get(pluginId);
      await this.pluginChanges.update(pluginId, { enabled: !plugin.enabled });
      return `${pluginId} ${plugin.enabled ? 'disabled' : 'enabled'}.`;
    });
  }

  /** The limits and settings form: checked by the API's own rules (PATCH /plugins/{id}/), then applied the same way. */
  @FormPost('plugins/:plugin_id/edit')
  @AdminOnly()
  edit(@Param('plugin_id') pluginId: string, @Body() form: Record<string, unknown>) {
    return formOutcome('/plugins/', async () => {
      await this.pluginChanges.update(pluginId, await limitsAndSettings(form));
      return `${pluginId} changed.`;
    });
  }
}

/** The form's fields as a PATCH body: an empty rate-limit key or retry count removes that limit. */
async function limitsAndSettings(form: Record<string, unknown>): Promise<UpdatePluginDto> {
  const text = (name: string) => (typeof form[name] === 'string' ? (form[name] as string).trim() : '');
  const number = (name: string) => (text(name) === '' ? undefined : Number(text(name)));
  const settings: Record<string, string> = {};
  for (const line of text('settings')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const equals = line.indexOf('=');
    if (equals < 1) throw badRequest(`settings: "${line.slice(0, 60)}" is not NAME=value`);
    settings[line.slice(0, equals).trim()] = line.slice(equals + 1).trim();
  }
  // Fields left empty are left out; anything else is handed to the validator as typed (NaN included).
  const given = (fields: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  const body = {
    rate_limit: text('rate_limit_key')
      ? given({
          key: text('rate_limit_key'),
          concurrency: number('rate_limit_concurrency'),
          per_minute: number('rate_limit_per_minute'),
        })
      : null,
    retry: text('retry_max_attempts')
      ? { max_attempts: number('retry_max_attempts'), backoff_seconds: number('retry_backoff_seconds') ?? 0 }
      : null,
    settings,
  };
  return validated(UpdatePluginDto, body);
}
