import { Injectable } from '@nestjs/common';
import { OrganizationRepository } from '@kat/domain';
import { Caller } from '../auth/authenticated';

/** The organizations an admin's picker offers; none for other tokens, which act for their own. */
@Injectable()
export class OrganizationChoices {
  constructor(private readonly organizations: OrganizationRepository) {}

  async offeredTo(caller: Caller): Promise<string[]> {
    return caller.isAdmin ? (await this.organizations.list()).map((o) => o.code) : [];
  }
}
