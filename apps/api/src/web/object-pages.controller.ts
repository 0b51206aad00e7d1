import { Get, Param, Query } from '@nestjs/common';
import { isObjectType, ObjectChainRepository, ObjectRepository, ObjectType } from '@kat/domain';
import { notFound } from '../common/errors';
import { OrganizationChoices } from './organization-choices';
import { PageController } from './page-controller';
import { PageShell } from './page-shell';
import { SignedIn } from '../auth/session.guard';
import { SignedInShell } from './templates/layout';
import { objectListPage, objectPage } from './templates/objects';

const PAGE_SIZE = 50;

/** The organization's objects: searched by type and key, and each with the tasks around it. */
@PageController()
@SignedIn()
export class ObjectPagesController {
  constructor(
    private readonly objects: ObjectRepository,
    private readonly chains: ObjectChainRepository,
    private readonly organizations: OrganizationChoices,
  ) {}

  @Get('objects/')
  async list(@PageShell() shell: SignedInShell, @Query() query: Record<string, unknown>): Promise<string> {
    const text = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : '');
    const type: ObjectType = isObjectType(text('type')) ? (text('type') as ObjectType) : 'hostname';
    const q = text('q').slice(0, 200);
    const organizationId = shell.caller.scope.organizationId;
    const offered = await this.organizations.offeredTo(shell.caller);
    if (organizationId === null) return objectListPage(shell, { type, q }, null, null, offered);
    const rows = await this.chains.search(organizationId, type, q, PAGE_SIZE + 1, text('after') || undefined);
    const shown = rows.slice(0, PAGE_SIZE);
    const next = rows.length > PAGE_SIZE ? shown[shown.length - 1].primary_key : null;
    return objectListPage(shell, { type, q }, shown, next, offered);
  }

  @Get('objects/:type/:key/')
  async detail(
    @PageShell() shell: SignedInShell,
    @Param('type') type: string,
    @Param('key') key: string,
  ): Promise<string> {
    const organizationId = shell.caller.scope.organizationId;
    const object =
      organizationId !== null && isObjectType(type) ? await this.objects.get(organizationId, type, key) : null;
    if (!object || organizationId === null) throw notFound(`${type} ${key} does not exist in this organization`);
    return objectPage(shell, object, await this.chains.chain(organizationId, object.object_type, key));
  }
}
