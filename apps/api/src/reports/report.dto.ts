import { ApiExtraModels, ApiProperty } from '@nestjs/swagger';
import {
  FindingsSummary,
  OBJECT_TYPES,
  REPORT_TYPES,
  type ReportType,
  SEVERITIES,
  Severity,
  StoredReport,
} from '@kat/domain';
import { nullableRef } from '../common/nullable-ref';
import { PageOf } from '../common/pagination';

/** A report without its data, as GET /reports lists it. */
export class ReportSummaryDto implements Omit<StoredReport, 'data'> {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'acme' }) organization: string;
  @ApiProperty({ enum: REPORT_TYPES }) report_type: ReportType;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null: the whole organization' })
  object_set_id: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'the report task that made it' })
  task_id: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) created_at: Date;
}

export class ReportPage extends PageOf(ReportSummaryDto) {}

export class ReportObjectSetDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'root domains' }) name: string;
  @ApiProperty({ enum: OBJECT_TYPES, example: 'hostname' }) object_type: string;
}

@ApiExtraModels(ReportObjectSetDto)
export class ReportScopeDto {
  @ApiProperty({ example: 'acme' }) organization: string;
  @ApiProperty(nullableRef(ReportObjectSetDto, { description: 'the set in scope; null: every object' }))
  object_set: ReportObjectSetDto | null;
  @ApiProperty({ type: 'integer', description: 'the objects in scope' }) objects: number;
}

export class FindingTypeTotalDto {
  @ApiProperty({ example: 'KAT-NO-SPF' }) code: string;
  @ApiProperty({ example: 'No SPF record' }) name: string;
  @ApiProperty({ enum: SEVERITIES }) severity: string;
  @ApiProperty({ example: 5.0 }) score: number;
  @ApiProperty({ type: 'integer', description: 'findings of this type' }) count: number;
  @ApiProperty({ type: 'integer', description: 'objects with a finding of this type' }) affected_objects: number;
  @ApiProperty({ example: 'hostname', description: 'the type of the objects it is about' }) ooi_type: string;
  @ApiProperty({ type: 'integer', description: 'objects of that type in scope' }) objects_of_type: number;
  @ApiProperty({ minimum: 0, maximum: 1, description: 'affected_objects / objects_of_type, to 4 decimals' })
  share_of_objects: number;
  @ApiProperty() recommendation: string;
}

export class TopObjectDto {
  @ApiProperty({ example: 'hostname' }) ooi_type: string;
  @ApiProperty({ example: 'internet|example.com', description: "the object's primary key" }) ooi: string;
  @ApiProperty({ type: 'integer' }) findings: number;
  @ApiProperty({ type: [String], example: ['KAT-NO-DMARC', 'KAT-NO-SPF'] }) finding_types: string[];
}

/** Findings per severity (SEVERITIES), each present. */
export class FindingsBySeverityDto implements Record<Severity, number> {
  @ApiProperty({ type: 'integer' }) critical: number;
  @ApiProperty({ type: 'integer' }) high: number;
  @ApiProperty({ type: 'integer' }) medium: number;
  @ApiProperty({ type: 'integer' }) low: number;
  @ApiProperty({ type: 'integer' }) recommendation: number;
}

/** A findings_summary report's data. */
export class FindingsSummaryDto implements FindingsSummary {
  @ApiProperty({ type: ReportScopeDto }) scope: ReportScopeDto;
  @ApiProperty({ type: 'integer' }) total_findings: number;
  @ApiProperty({ type: FindingsBySeverityDto }) by_severity: Record<Severity, number>;
  @ApiProperty({ type: [FindingTypeTotalDto], description: 'most severe score first' })
  by_finding_type: FindingTypeTotalDto[];
  @ApiProperty({ type: [TopObjectDto], description: 'the 10 objects with the most findings' })
  top_objects: TopObjectDto[];
}

export class ReportDto extends ReportSummaryDto implements StoredReport {
  @ApiProperty({ type: FindingsSummaryDto }) data: FindingsSummaryDto;
}
