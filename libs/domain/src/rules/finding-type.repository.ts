import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { FindingTypeDefinition } from './finding-types';

/** The finding types as stored (`kat seed` writes FINDING_TYPES), which reports join on. */
@Injectable()
export class FindingTypeRepository {
  constructor(private readonly db: DataSource) {}

  /** Every finding type, most severe score first, then by code. */
  list(): Promise<FindingTypeDefinition[]> {
    return this.db.query(
      `SELECT code, name, description, recommendation, severity, score::float AS score FROM finding_type
       ORDER BY score DESC, code`,
    );
  }
}
