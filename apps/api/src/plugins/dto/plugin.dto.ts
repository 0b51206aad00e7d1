import { ApiExtraModels, ApiProperty, ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { Type } from 'class-transformer';
import { FILE_INPUT_PREFIX, OBJECT_TYPES, Plugin, PluginOutput } from '@kat/domain';
import { nullableRef } from '../../common/nullable-ref';
import { PageOf } from '../../common/pagination';

const CAPABILITY = /^[A-Z_]+$/;
/** What a plugin may consume: an object type, or `file:<plugin_id>` (that plugin's raw output, for a normalizer). */
const CONSUMABLE = new RegExp(`^(${OBJECT_TYPES.join('|')}|${FILE_INPUT_PREFIX}[a-z0-9][a-z0-9_-]{0,63})$`);
const CONSUMABLE_RULE =
  `consumes must contain only: ${OBJECT_TYPES.join(', ')}, ` + `or one ${FILE_INPUT_PREFIX}<plugin_id>`;
/** type/subtype, as RFC 6838 spells their names (parameters left out). */
export const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

/** Limits shared by every task whose resolved key is equal, across workers and organizations. */
export class RateLimitDto {
  @ApiProperty({
    example: '{address}',
    description:
      'a literal ("shodan.io": one external API) or a template over the input\'s key fields ("{address}": one host)',
  })
  @IsString()
  @Length(1, 200, { message: 'rate_limit.key must be 1 to 200 characters' })
  key: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 10000, description: 'tasks with this key running at once' })
  @IsOptional()
  @IsInt({ message: 'rate_limit.concurrency must be an integer from 1 to 10000' })
  @Min(1, { message: 'rate_limit.concurrency must be an integer from 1 to 10000' })
  @Max(10000, { message: 'rate_limit.concurrency must be an integer from 1 to 10000' })
  concurrency?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100000, description: 'starts of tasks with this key in any 60 s' })
  @IsOptional()
  @IsInt({ message: 'rate_limit.per_minute must be an integer from 1 to 100000' })
  @Min(1, { message: 'rate_limit.per_minute must be an integer from 1 to 100000' })
  @Max(100000, { message: 'rate_limit.per_minute must be an integer from 1 to 100000' })
  per_minute?: number;
}

/** A plugin failure (non-zero exit, timeout) is retried after backoff_seconds · 2^(n−1), ±25 %. */
export class RetryPolicyDto {
  @ApiProperty({ minimum: 1, maximum: 20, example: 3, description: 'attempts in all, the first included' })
  @IsInt({ message: 'retry.max_attempts must be an integer from 1 to 20' })
  @Min(1, { message: 'retry.max_attempts must be an integer from 1 to 20' })
  @Max(20, { message: 'retry.max_attempts must be an integer from 1 to 20' })
  max_attempts: number;

  @ApiProperty({ minimum: 0, maximum: 86400, example: 30 })
  @IsNumber({}, { message: 'retry.backoff_seconds must be a number from 0 to 86400' })
  @Min(0, { message: 'retry.backoff_seconds must be a number from 0 to 86400' })
  @Max(86400, { message: 'retry.backoff_seconds must be a number from 0 to 86400' })
  backoff_seconds: number;
}

@ApiExtraModels(RateLimitDto, RetryPolicyDto)
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

  @ApiProperty({
    example: ['hostname'],
    type: [String],
    description:
      `object types (${OBJECT_TYPES.join(', ')}), or one ${FILE_INPUT_PREFIX}<plugin_id> ` +
      "for a normalizer of that plugin's raw output",
  })
  @IsArray()
  @ArrayMinSize(1)
  @IsString({ each: true, message: CONSUMABLE_RULE })
  @Matches(CONSUMABLE, { each: true, message: CONSUMABLE_RULE })
  consumes: string[];

  @ApiPropertyOptional({ example: ['dnsrecord', 'ipaddress'], enum: OBJECT_TYPES, isArray: true })
  @IsOptional()
  @IsArray()
  @IsIn(OBJECT_TYPES, { each: true, message: `produces must contain only: ${OBJECT_TYPES.join(', ')}` })
  produces?: string[];

  @ApiPropertyOptional({
    enum: PluginOutput,
    default: PluginOutput.objects,
    description: "objects: stdout is JSON lines of objects; raw: stdout is kept whole as the task's output file",
  })
  @IsOptional()
  @IsIn(Object.values(PluginOutput), { message: 'output must be objects or raw' })
  output?: PluginOutput;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'application/xml',
    description: 'required when output is raw',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(MEDIA_TYPE, { message: 'media_type must be a media type such as application/xml' })
  media_type?: string | null;

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

  @ApiPropertyOptional(nullableRef(RateLimitDto))
  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rate_limit?: RateLimitDto | null;

  @ApiPropertyOptional(nullableRef(RetryPolicyDto))
  @IsOptional()
  @ValidateNested()
  @Type(() => RetryPolicyDto)
  retry?: RetryPolicyDto | null;
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
    'output',
    'media_type',
    'timeout_seconds',
    'memory_mb',
    'cap_add',
    'settings',
    'enabled',
    'rate_limit',
    'retry',
  ] as const),
) {}

/** A plugin of the catalogue. */
@ApiExtraModels(RateLimitDto, RetryPolicyDto)
export class PluginDto implements Plugin {
  @ApiProperty({ type: 'integer', description: 'its row id' }) id: number;
  @ApiProperty({ example: 'dns_records' }) plugin_id: string;
  @ApiProperty({ example: 'DNS records' }) name: string;
  @ApiProperty({ description: '"" when none was given' }) description: string;
  @ApiProperty({ example: 'kat-plugins:latest' }) image: string;
  @ApiProperty({ type: [String], example: ['node', '/app/dns_records.js', '{name}'] }) command: string[];
  @ApiProperty({
    type: [String],
    example: ['hostname'],
    description: `object types, or one ${FILE_INPUT_PREFIX}<plugin_id>`,
  })
  consumes: string[];
  @ApiProperty({ enum: OBJECT_TYPES, isArray: true, example: ['dnsrecord', 'ipaddress'] }) produces: string[];
  @ApiProperty({ enum: PluginOutput, example: PluginOutput.objects }) output: PluginOutput;
  @ApiProperty({ type: String, nullable: true, example: null }) media_type: string | null;
  @ApiProperty({ type: 'integer', example: 300 }) timeout_seconds: number;
  @ApiProperty({ type: 'integer', example: 256 }) memory_mb: number;
  @ApiProperty({ type: [String], example: ['NET_RAW'] }) cap_add: string[];
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { resolver: '1.1.1.1' },
    description: 'passed as KAT_SETTING_<NAME> variables',
  })
  settings: Record<string, string>;
  @ApiProperty() enabled: boolean;
  @ApiProperty(nullableRef(RateLimitDto)) rate_limit: RateLimitDto | null;
  @ApiProperty(nullableRef(RetryPolicyDto)) retry: RetryPolicyDto | null;
  @ApiProperty({ type: String, format: 'date-time' }) created_at: Date;
  @ApiProperty({ type: String, format: 'date-time' }) updated_at: Date;
}

export class PluginPage extends PageOf(PluginDto) {}
