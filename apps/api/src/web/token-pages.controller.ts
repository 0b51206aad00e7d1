import { Body, Get, Param, Post } from '@nestjs/common';
import { TokenAccess } from '@kat/domain';
import { TokenAdmin } from '../auth/authenticated';
import { SignedIn } from '../auth/session.guard';
import { intIdParam } from '../common/uuid-param';
import { TokensService } from '../tokens/tokens.service';
import { OrganizationChoices } from './organization-choices';
import { FormPost, formOutcome, notDone, PageController } from './page-controller';
import { PageShell } from './page-shell';
import { SignedInShell } from './templates/layout';
import { withOrg } from './templates/parts';
import { tokensPage } from './templates/tokens';

/** The organization's API tokens: listed, made and revoked, by tokens with admin access. */
@PageController()
@SignedIn()
@TokenAdmin()
export class TokenPagesController {
  constructor(
    private readonly tokens: TokensService,
    private readonly organizations: OrganizationChoices,
  ) {}

  @Get('tokens/')
  async list(@PageShell() shell: SignedInShell): Promise<string> {
    return this.page(shell);
  }

  /** Shows the new token's secret on the page it answers with: it is never shown again. */
  @Post('tokens/')
  async issue(@PageShell() shell: SignedInShell, @Body() form: Record<string, unknown>): Promise<string> {
    const access = String(form.access ?? 'write');
    const expires = String(form.expires_at ?? '');
    try {
      if (expires && !/^\d{4}-\d{2}-\d{2}$/.test(expires)) throw new Error('expires_at must be a date');
      const issued = await this.tokens.issue(shell.caller, {
        name: String(form.name ?? '').trim() || 'unnamed',
        access: access as TokenAccess,
        expires_at: expires ? `${expires}T00:00:00Z` : null,
      });
      return this.page(shell, issued);
    } catch (error) {
      return this.page({ ...shell, notice: notDone(error) });
    }
  }

  @FormPost('tokens/:id/revoke')
  revoke(@PageShell() shell: SignedInShell, @Param('id', intIdParam('id')) id: number) {
    return formOutcome(withOrg(shell.caller, '/tokens/'), async () => {
      const token = await this.tokens.revoke(shell.caller.scope, id);
      return `Token ${token.id} (${token.name}) is revoked.`;
    });
  }

  private async page(shell: SignedInShell, issued?: Parameters<typeof tokensPage>[3]): Promise<string> {
    const { scope } = shell.caller;
    const tokens = scope.organizationId === null ? null : await this.tokens.list(scope, 200);
    return tokensPage(shell, tokens, await this.organizations.offeredTo(shell.caller), issued);
  }
}
