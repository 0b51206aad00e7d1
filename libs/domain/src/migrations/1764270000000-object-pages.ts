import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * "Which tasks took this object as input?", whatever their plugin: an object's page, and the task
 * list filtered by input alone (which otherwise walks the organization's tasks newest first).
 */
export class ObjectPages1764270000000 implements MigrationInterface {
  name = 'ObjectPages1764270000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX task_org_input ON task (organization_id, input_object, created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX task_org_input`);
  }
}
