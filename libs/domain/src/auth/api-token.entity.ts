import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Organization } from '../organizations/organization.entity';

/** What a token may do: read only; read and write; or also manage its organization's tokens. */
export const TOKEN_ACCESS = ['read', 'write', 'admin'] as const;
export type TokenAccess = (typeof TOKEN_ACCESS)[number];

/**
 * An API credential. Only a SHA-256 of the secret is stored; the secret is shown once. A revoked
 * token's row stays, so that the audit log's entries still say whose it was.
 */
@Entity('api_token')
export class ApiToken {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'text' })
  name: string;

  /** Null only for admin tokens, which may act on any organization (is_admin). */
  @Column({ type: 'int', nullable: true })
  organization_id: number | null;

  @ManyToOne(() => Organization, { onDelete: 'CASCADE', nullable: true })
  @JoinColumn({ name: 'organization_id' })
  organization?: Organization | null;

  @Column({ type: 'char', length: 64, unique: true })
  token_hash: string;

  @Column({ type: 'boolean', default: false })
  is_admin: boolean;

  @Column({ type: 'text', default: 'write' })
  access: TokenAccess;

  /** Null: the token does not expire. */
  @Column({ type: 'timestamptz', nullable: true })
  expires_at: Date | null;

  /** To the minute: it is written at most once a minute per token and API process. */
  @Column({ type: 'timestamptz', nullable: true })
  last_used_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  revoked_at: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
