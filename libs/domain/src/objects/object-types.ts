import { plainToInstance, Transform } from 'class-transformer';
import { JSONSchema } from 'class-validator-jsonschema';
import {
  IsIn,
  IsInt,
  IsIP,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  validateSync,
  ValidationError,
} from 'class-validator';
import { isObjectType, OBJECT_TYPES, objectKey, ObjectType } from './object-keys';

const NETWORK = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const DNS_NAME_OR_IP =
  /^((?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*|[0-9a-f:.]{2,45})$/;
const lowerName = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase().replace(/\.$/, '') : value;

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT', 'CAA', 'SOA', 'SRV', 'PTR'] as const;

abstract class OnNetwork {
  @JSONSchema({ examples: ['internet'] })
  @IsString()
  @Matches(NETWORK, { message: '$property must be a network name (letters, digits, _ . -)' })
  network: string;
}

export class NetworkObject {
  @JSONSchema({ examples: ['internet'] })
  @IsString()
  @Matches(NETWORK, { message: '$property must be a network name (letters, digits, _ . -)' })
  name: string;
}

export class HostnameObject extends OnNetwork {
  @JSONSchema({ examples: ['example.com'] })
  @Transform(lowerName)
  @IsString()
  @Matches(DNS_NAME, { message: '$property must be a DNS name' })
  name: string;
}

export class IpAddressObject extends OnNetwork {
  @JSONSchema({ examples: ['192.0.2.1'] })
  @IsIP(undefined, { message: '$property must be an IPv4 or IPv6 address' })
  address: string;
}

export class IpPortObject extends OnNetwork {
  @JSONSchema({ examples: ['192.0.2.1'] })
  @IsIP(undefined, { message: '$property must be an IPv4 or IPv6 address' })
  address: string;

  @IsIn(['tcp', 'udp'])
  protocol: string;

  @JSONSchema({ examples: [443] })
  @IsInt()
  @Min(1)
  @Max(65535)
  port: number;

  @JSONSchema({ examples: ['open'] })
  @IsOptional()
  @IsIn(['open', 'closed', 'filtered'])
  state?: string;

  @JSONSchema({ examples: ['https'] })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  service?: string;
}

export class DnsRecordObject extends OnNetwork {
  @JSONSchema({ examples: ['example.com'] })
  @Transform(lowerName)
  @IsString()
  @Matches(DNS_NAME, { message: '$property must be a DNS name' })
  hostname: string;

  @IsIn(DNS_RECORD_TYPES)
  record_type: string;

  @JSONSchema({
    description: 'the record data as text (MX: "10 mx.example.com", CAA: "0 issue letsencrypt.org")',
    examples: ['192.0.2.1'],
  })
  @IsString()
  @MaxLength(4096)
  value: string;

  @JSONSchema({ examples: [3600] })
  @IsOptional()
  @IsInt()
  @Min(0)
  ttl?: number;
}

export class CertificateObject extends OnNetwork {
  @JSONSchema({
    description: 'the name the certificate was served for (an address when scanned by address)',
    examples: ['example.com'],
  })
  @Transform(lowerName)
  @IsString()
  @Matches(DNS_NAME_OR_IP, { message: '$property must be a DNS name or an IP address' })
  hostname: string;

  @JSONSchema({ examples: [443] })
  @IsInt()
  @Min(1)
  @Max(65535)
  port: number;

  @JSONSchema({ examples: ['04A1B2C3'] })
  @IsString()
  @Matches(/^[0-9A-Fa-f:]{1,128}$/, { message: '$property must be a hexadecimal serial number' })
  serial: string;

  @JSONSchema({ examples: ['CN=example.com'] })
  @IsString()
  @MaxLength(2000)
  subject: string;

  @JSONSchema({ examples: ["CN=R3,O=Let's Encrypt,C=US"] })
  @IsString()
  @MaxLength(2000)
  issuer: string;

  @IsISO8601({ strict: true })
  not_before: string;

  @IsISO8601({ strict: true })
  not_after: string;
}

export class HttpHeaderObject extends OnNetwork {
  @JSONSchema({ examples: ['example.com'] })
  @Transform(lowerName)
  @IsString()
  @Matches(DNS_NAME, { message: '$property must be a DNS name' })
  hostname: string;

  @IsIn(['http', 'https'])
  scheme: string;

  @JSONSchema({ examples: [443] })
  @IsInt()
  @Min(1)
  @Max(65535)
  port: number;

  @JSONSchema({ description: 'the header name, lower-case', examples: ['strict-transport-security'] })
  @Matches(/^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$/, { message: '$property must be a lower-case HTTP header name' })
  name: string;

  @JSONSchema({ examples: ['max-age=31536000'] })
  @IsString()
  @MaxLength(4096)
  value: string;
}

export class FindingObject {
  @JSONSchema({ examples: ['KAT-NO-SPF'] })
  @Matches(/^[A-Z0-9][A-Z0-9_-]{0,63}$/, { message: '$property must be a finding type code like KAT-NO-SPF' })
  finding_type: string;

  @JSONSchema({ description: 'type of the object the finding is about (its "OOI", as OpenKAT says)' })
  @IsIn(OBJECT_TYPES)
  ooi_type: string;

  @JSONSchema({ description: 'primary key of the object the finding is about', examples: ['internet|example.com'] })
  @IsString()
  @MaxLength(2048)
  ooi: string;

  @IsOptional()
  @IsString()
  @MaxLength(10000)
  evidence?: string;
}

type ObjectClass = new () => object;

/** Each object type: its class (validation, OpenAPI schema) and a description. */
export const OBJECT_CATALOGUE: Record<ObjectType, { schema: ObjectClass; description: string }> = {
  network: {
    schema: NetworkObject,
    description: 'A network in which addresses and names are unique; "internet" for the public one',
  },
  hostname: { schema: HostnameObject, description: 'A DNS name' },
  ipaddress: { schema: IpAddressObject, description: 'An IPv4 or IPv6 address' },
  ipport: { schema: IpPortObject, description: 'A port on an address, as a scan found it' },
  dnsrecord: { schema: DnsRecordObject, description: 'One DNS record of a hostname' },
  certificate: { schema: CertificateObject, description: 'A TLS certificate served for a hostname on a port' },
  httpheader: {
    schema: HttpHeaderObject,
    description: 'A header of the HTTP response of a hostname, as a scan saw it',
  },
  finding: { schema: FindingObject, description: 'A finding of a business rule about another object' },
};

/** An object ready to store: its type, primary key and fields. */
export interface ValidObject {
  object_type: ObjectType;
  primary_key: string;
  data: Record<string, unknown>;
}

/**
 * Validates plain objects of `type` (or, when null, of the type each names in `object_type`):
 * either all are valid, or the errors name each bad item's index (when `indexed`) and field.
 */
export function validateObjects(
  type: ObjectType | null,
  items: unknown[],
  indexed: boolean,
): { objects: ValidObject[] } | { errors: string[] } {
  const objects: ValidObject[] = [];
  const errors: string[] = [];
  items.forEach((item, index) => {
    const where = indexed ? `[${index}].` : '';
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.push(`${indexed ? `[${index}]` : 'the body'} must be a JSON object`);
      return;
    }
    const { object_type: named, ...fields } = item as Record<string, unknown>;
    const itemType = type ?? named;
    if (type === null && (typeof named !== 'string' || !isObjectType(named))) {
      errors.push(`${where}object_type must be one of: ${OBJECT_TYPES.join(', ')}`);
      return;
    }
    if (type !== null && named !== undefined && named !== type) {
      errors.push(`${where}object_type must be ${type} (or left out) on this path`);
      return;
    }
    const instance = plainToInstance(OBJECT_CATALOGUE[itemType as ObjectType].schema, fields);
    const problems = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
    if (problems.length > 0) {
      errors.push(...flatten(problems).map((message) => `${where}${message}`));
      return;
    }
    const data = { ...instance } as Record<string, unknown>;
    objects.push({ object_type: itemType as ObjectType, primary_key: objectKey(itemType as ObjectType, data), data });
  });
  return errors.length > 0 ? { errors } : { objects };
}

function flatten(problems: ValidationError[]): string[] {
  return problems.flatMap((p) => Object.values(p.constraints ?? {}));
}
