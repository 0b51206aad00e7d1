import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TaskStatus, TaskType } from './task-state';

/** `data` of each task type, as the contract shows it. */
export interface PluginTaskData {
  plugin_id: string;
  input_data: string;
}
export interface TaskFailure {
  error?: string;
  traceback?: string;
}
export type TaskData = Record<string, unknown> & Partial<PluginTaskData> & TaskFailure;

/**
 * One unit of work. The row is the truth about a task; the queue only delivers it.
 * Writes go through TaskRepository, whose every statement is conditional on the current status.
 * Properties are snake_case like the columns and the contract's JSON, so a row needs no mapping.
 */
@Entity('task')
export class Task {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ type: 'int' })
  organization_id: number;

  @Column({ type: 'varchar', length: 32 })
  type: TaskType;

  @Column({ type: 'varchar', length: 16 })
  status: TaskStatus;

  @Column({ type: 'jsonb' })
  data: TaskData;

  /** Derived from data->>'plugin_id' by the database (a stored generated column, indexed). */
  @Column({ type: 'varchar', length: 64, nullable: true, insert: false, update: false })
  plugin_id: string | null;

  /** Derived from data->>'input_data' by the database (a stored generated column, indexed). */
  @Column({ type: 'text', nullable: true, insert: false, update: false })
  input_object: string | null;

  @Column({ type: 'timestamptz' })
  created_at: Date;

  @Column({ type: 'timestamptz', nullable: true })
  started_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  ended_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  heartbeat_at: Date | null;

  /** How many times a worker has claimed the task; also identifies the current run. */
  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'uuid', nullable: true })
  schedule_id: string | null;

  @Column({ type: 'uuid', nullable: true })
  parent_task_id: string | null;

  /** 1 (first) to 9 (last): the order in which waiting plugin tasks are admitted to the queue. */
  @Column({ type: 'smallint', default: 3 })
  priority: number;

  /** A retry's back-off: not admitted before this moment. */
  @Column({ type: 'timestamptz', nullable: true })
  run_after: Date | null;

  /** The plugin's rate_limit.key resolved for the input: tasks sharing it share the limit. */
  @Column({ type: 'text', nullable: true })
  rate_key: string | null;

  /** When the task was handed to the queue; null while it waits in the database for its turn. */
  @Column({ type: 'timestamptz', nullable: true })
  admitted_at: Date | null;
}

/** A plugin run's captured output, kept apart from `task` so listing tasks never reads it. */
@Entity('task_log')
export class TaskLog {
  @PrimaryColumn({ type: 'uuid' })
  task_id: string;

  @Column({ type: 'text' })
  stdout: string;

  @Column({ type: 'text' })
  stderr: string;

  @Column({ type: 'boolean' })
  stdout_truncated: boolean;

  @Column({ type: 'boolean' })
  stderr_truncated: boolean;

  @Column({ type: 'timestamptz' })
  updated_at: Date;
}
