import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transition trigger let a write set a status to the value it already had (RUNNING → RUNNING,
 * FAILED → FAILED …) while task-state.ts allows none: a second claim of a RUNNING task, or an
 * ending written twice, would have passed the database. Now every UPDATE that names `status`
 * is checked, same value or not; writes that leave `status` out (heartbeats, logs) are untouched.
 */
export class EveryStatusWriteChecked1764190000000 implements MigrationInterface {
  name = 'EveryStatusWriteChecked1764190000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER task_status_transition ON task`);
    await q.query(`CREATE TRIGGER task_status_transition BEFORE UPDATE OF status ON task
                   FOR EACH ROW EXECUTE FUNCTION task_check_transition()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER task_status_transition ON task`);
    await q.query(`CREATE TRIGGER task_status_transition BEFORE UPDATE OF status ON task
                   FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.status = 'COMPLETED')
                   EXECUTE FUNCTION task_check_transition()`);
  }
}
