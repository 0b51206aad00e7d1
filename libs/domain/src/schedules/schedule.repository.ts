import { Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { Schedule } from './schedule.entity';

/** Schedules: their CRUD, and which are due (the tasks a tick creates: TaskRepository.createScheduledTasks). */
@Injectable()
export class ScheduleRepository {
  constructor(private readonly db: DataSource) {}

  /** The organization's schedules, oldest first (a page's worth: a scan of the small schedule table). */
  listInOrganization(organizationId: number): Promise<Schedule[]> {
    return this.schedules.find({ where: { organization_id: organizationId }, order: { created_at: 'ASC' } });
  }

  /**
   * The organization's schedule with that id; null when it has none (another organization's is as
   * good as none). Per request: served by schedule's primary key.
   */
  findInOrganization(organizationId: number, id: string): Promise<Schedule | null> {
    return this.schedules.findOneBy({ id, organization_id: organizationId });
  }

  /** Inserts a schedule; returns its id. */
  async create(
    schedule: Pick<
      Schedule,
      'organization_id' | 'plugin_id' | 'object_set_id' | 'interval_seconds' | 'enabled' | 'priority'
    >,
  ): Promise<string> {
    const { identifiers } = await this.schedules.insert(schedule);
    return identifiers[0].id;
  }

  /** Changes a schedule's switch, interval or priority, by primary key. */
  async update(
    id: string,
    change: Partial<Pick<Schedule, 'enabled' | 'interval_seconds' | 'priority'>>,
  ): Promise<void> {
    await this.schedules.update({ id }, change);
  }

  /** Deletes a schedule, by primary key (its tasks keep their rows: schedule_id becomes null). */
  async delete(id: string): Promise<void> {
    await this.schedules.delete({ id });
  }

  private get schedules(): Repository<Schedule> {
    return this.db.getRepository(Schedule);
  }

  /** Enabled schedules with an enabled plugin, for the tick. */
  async enabledScheduleIds(): Promise<string[]> {
    const rows = await this.db.query(
      `SELECT s.id FROM schedule s JOIN plugin p ON p.plugin_id = s.plugin_id
       WHERE s.enabled AND p.enabled ORDER BY s.created_at`,
    );
    return rows.map((r: { id: string }) => r.id);
  }
}
