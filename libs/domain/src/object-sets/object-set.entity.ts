import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A saved selection of objects of one type: listed keys and/or a filter (see object-filter.ts). */
@Entity('object_set')
export class ObjectSet {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'int' })
  organization_id: number;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'varchar', length: 32 })
  object_type: string;

  /** null: only `object_ids`; "": every object of the type; else a filter (plus `object_ids`). */
  @Column({ type: 'text', nullable: true })
  query: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  object_ids: string[];

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
