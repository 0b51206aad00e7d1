import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Organization } from '../organizations/organization.entity';

/** An API credential. Only a SHA-256 of the secret is stored; the secret is shown once. */
@Entity('api_token')
export class ApiToken {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'text' })
  name: string;

  /** Null only for admin tokens, which may act on any organization. */
  @Column({ type: 'int', nullable: true })
  organization_id: number | null;

  @ManyToOne(() => Organization, { onDelete: 'CASCADE', nullable: true })
  @JoinColumn({ name: 'organization_id' })
  organization?: Organization | null;

  @Column({ type: 'char', length: 64, unique: true })
  token_hash: string;

  @Column({ type: 'boolean', default: false })
  is_admin: boolean;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
