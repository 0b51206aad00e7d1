import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** "Run plugin P on every object of set S at most once per interval." */
@Entity('schedule')
export class Schedule {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'int' })
  organization_id: number;

  @Column({ type: 'varchar', length: 64 })
  plugin_id: string;

  @Column({ type: 'uuid' })
  object_set_id: string;

  @Column({ type: 'int' })
  interval_seconds: number;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @Column({ type: 'timestamptz', nullable: true })
  last_run_at: Date | null;

  /** The priority of the tasks its ticks create; null: 7 (see TASK_PRIORITY). */
  @Column({ type: 'smallint', nullable: true })
  priority: number | null;
}
