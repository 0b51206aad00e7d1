import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** The readiness probe's view of PostgreSQL, through the app's own pool. */
@Injectable()
export class DatabaseHealthRepository {
  constructor(private readonly db: DataSource) {}

  /** Resolves when a pooled connection answers a query (each readiness probe). */
  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }
}
