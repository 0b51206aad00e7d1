import { ApiProperty } from '@nestjs/swagger';
import { OBJECT_TYPES, ObjectTaskRecord, type ObjectType } from '@kat/domain';
import { PageOf } from '../common/pagination';

/** An object as stored: its key and other fields (as GET /object-types describes them) besides these. */
export class StoredObjectDto {
  @ApiProperty({ enum: OBJECT_TYPES, example: 'hostname' }) object_type: ObjectType;
  @ApiProperty({ example: 'internet|example.com', description: 'its key fields joined with |' }) primary_key: string;
  @ApiProperty({ type: String, format: 'date-time' }) first_seen: Date;
  @ApiProperty({ type: String, format: 'date-time', description: 'moved each time the object is posted again' })
  last_seen: Date;
  [field: string]: unknown;
}

export class ObjectPage extends PageOf(StoredObjectDto) {}

/** What POST /objects/{type} answers to a list: the counts, and the objects as stored. */
export class IngestedObjectsDto {
  @ApiProperty({ type: 'integer', description: 'the objects stored: a key repeated in the list counts once' })
  count: number;
  @ApiProperty({ type: 'integer', description: 'of them, new' }) created: number;
  @ApiProperty({ type: 'integer', description: 'of them, existing already (updated)' }) updated: number;
  @ApiProperty({ type: [StoredObjectDto], description: 'each as stored' }) results: StoredObjectDto[];
}

/** An object type of the catalogue. */
export class ObjectTypeDto {
  @ApiProperty({ enum: OBJECT_TYPES, example: 'hostname' }) object_type: ObjectType;
  @ApiProperty() description: string;
  @ApiProperty({ type: [String], example: ['network', 'name'], description: 'its primary key, in order' })
  key_fields: readonly string[];
  @ApiProperty({ type: 'object', additionalProperties: true, description: "a JSON schema of the type's fields" })
  schema: object;
}

export class ObjectTypeList {
  @ApiProperty({ type: [ObjectTypeDto] }) results: ObjectTypeDto[];
}

/** Which task produced which object. */
export class ObjectTaskDto implements ObjectTaskRecord {
  @ApiProperty({ description: 'increasing' }) id: string;
  @ApiProperty({ format: 'uuid', type: String, nullable: true, description: 'null once retention deleted the task' })
  task_id: string | null;
  @ApiProperty({ example: 'dns_records' }) plugin_id: string;
  @ApiProperty({
    example: 'internet|example.com',
    description: "the task's input: an object's primary key, or for a normalizer the id of the task whose file it read",
  })
  input_object: string;
  @ApiProperty({ enum: OBJECT_TYPES, example: 'dnsrecord' }) output_type: ObjectType;
  @ApiProperty({ example: 'internet|example.com|A|192.0.2.1', description: "the produced object's primary key" })
  output_object: string;
  @ApiProperty({ type: String, format: 'date-time' }) created_at: Date;
}

export class ObjectTaskPage extends PageOf(ObjectTaskDto) {}
