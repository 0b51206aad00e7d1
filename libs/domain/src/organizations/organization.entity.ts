import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A tenant. Every row of every other table belongs to one, and every query is scoped by it. */
@Entity('organization')
export class Organization {
  @PrimaryGeneratedColumn()
  id: number;

  /** Lower-case slug that addresses the tenant in URLs and payloads, e.g. `acme`. */
  @Column({ type: 'varchar', length: 64, unique: true })
  code: string;

  @Column({ type: 'text' })
  name: string;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}

export const ORGANIZATION_CODE_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
