import { ApiProperty } from '@nestjs/swagger';
import { OBJECT_TYPES, ObjectTaskRecord, type ObjectType } from '@kat/domain';

/** An object as stored: its key and other fields (as GET /object-types describes them) besides these. */
export class StoredObjectDto {
  @ApiProperty({ enum: OBJECT_TYPES, example: 'hostname' }) object_type: ObjectType;
  @ApiProperty({ example: 'internet|example.com', description: 'its key fields joined with |' }) primary_key: string;
  @ApiProperty({ type: String, format: 'date-time' }) first_seen: Date;
  @ApiProperty({ type: String, format: 'date-time', description: 'moved each time the object is posted again' })
  last_seen: Date;
  [field: string]: unknown;
}

export class ObjectPage {
  @ApiProperty({ type: [StoredObjectDto] }) results: StoredObjectDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
  @ApiProperty({ description: 'the results on this page' }) count: number;
}

/** Which task produced which object. */
export class ObjectTaskDto implements ObjectTaskRecord {
  @ApiProperty({ description: 'increasing' }) id: string;
  @ApiProperty({ format: 'uuid' }) task_id: string;
  @ApiProperty({ example: 'dns_records' }) plugin_id: string;
  @ApiProperty({ example: 'internet|example.com', description: "the task's input object's primary key" })
  input_object: string;
  @ApiProperty({ enum: OBJECT_TYPES, example: 'dnsrecord' }) output_type: ObjectType;
  @ApiProperty({ example: 'internet|example.com|A|192.0.2.1', description: "the produced object's primary key" })
  output_object: string;
  @ApiProperty({ type: String, format: 'date-time' }) created_at: Date;
}

export class ObjectTaskPage {
  @ApiProperty({ type: [ObjectTaskDto] }) results: ObjectTaskDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
  @ApiProperty({ description: 'the results on this page' }) count: number;
}
