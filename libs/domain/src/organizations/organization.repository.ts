import { Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { Organization } from './organization.entity';

/** The tenants: listed and created by admins and the CLI, looked up by code. */
@Injectable()
export class OrganizationRepository {
  constructor(private readonly db: DataSource) {}

  /** Every organization, by code (served by organization's unique code). */
  list(): Promise<Organization[]> {
    return this.organizations.find({ order: { code: 'ASC' } });
  }

  /**
   * The organization with that code; null when none has it. Per request that names one
   * (`?organization=`): served by organization's unique code.
   */
  findByCode(code: string): Promise<Organization | null> {
    return this.organizations.findOneBy({ code });
  }

  /** Inserts an organization; returns it as stored. A code taken meanwhile fails with 23505. */
  async create(organization: Pick<Organization, 'code' | 'name'>): Promise<Organization> {
    await this.organizations.insert(organization);
    return this.organizations.findOneByOrFail({ code: organization.code });
  }

  private get organizations(): Repository<Organization> {
    return this.db.getRepository(Organization);
  }
}
