import { ApiProperty, ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { OBJECT_TYPES } from '@kat/domain';

const CAPABILITY = /^[A-Z_]+$/;

export class CreatePluginDto {
  @ApiProperty({ example: 'dns_records' })
  @Matches(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
    message: 'plugin_id must be lower-case letters, digits, _ or - (at most 64)',
  })
  plugin_id: string;

  @ApiProperty({ example: 'DNS records' })
  @IsString()
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string;

  @ApiProperty({ example: 'kat-plugins:latest' })
  @IsString()
  @MaxLength(500)
  @Matches(/^\S+$/, { message: 'image must not contain spaces' })
  image: string;

  @ApiProperty({
    example: ['node', '/app/dns_records.js', '{name}'],
    description: "{input} and the input's key fields are substituted",
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  command: string[];

  @ApiProperty({ example: ['hostname'], enum: OBJECT_TYPES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(OBJECT_TYPES, { each: true, message: `consumes must contain only: ${OBJECT_TYPES.join(', ')}` })
  consumes: string[];

  @ApiPropertyOptional({ example: ['dnsrecord', 'ipaddress'], enum: OBJECT_TYPES, isArray: true })
  @IsOptional()
  @IsArray()
  @IsIn(OBJECT_TYPES, { each: true, message: `produces must contain only: ${OBJECT_TYPES.join(', ')}` })
  produces?: string[];

  @ApiPropertyOptional({ default: 300, minimum: 1, maximum: 86400 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  timeout_seconds?: number;

  @ApiPropertyOptional({ default: 256, minimum: 16, maximum: 65536 })
  @IsOptional()
  @IsInt()
  @Min(16)
  @Max(65536)
  memory_mb?: number;

  @ApiPropertyOptional({
    example: ['NET_RAW'],
    description: 'Linux capabilities the plugin needs; all others are dropped',
  })
  @IsOptional()
  @IsArray()
  @Matches(CAPABILITY, { each: true, message: 'cap_add must contain capability names like NET_RAW' })
  cap_add?: string[];

  @ApiPropertyOptional({ example: { resolver: '1.1.1.1' }, description: 'passed as KAT_SETTING_<NAME> variables' })
  @IsOptional()
  @IsObject()
  settings?: Record<string, string>;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

/** PATCH: everything but the id may change. */
export class UpdatePluginDto extends PartialType(
  PickType(CreatePluginDto, [
    'name',
    'description',
    'image',
    'command',
    'consumes',
    'produces',
    'timeout_seconds',
    'memory_mb',
    'cap_add',
    'settings',
    'enabled',
  ] as const),
) {}
