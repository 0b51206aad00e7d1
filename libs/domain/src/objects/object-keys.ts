import { isIP } from 'node:net';

/**
 * The key fields of each object type, in key order: an object's primary key is these fields joined
 * with `|` (`internet|example.com`). The object store builds on this catalogue.
 */
export const OBJECT_KEY_FIELDS = {
  network: ['name'],
  hostname: ['network', 'name'],
  ipaddress: ['network', 'address'],
  ipport: ['network', 'address', 'protocol', 'port'],
  dnsrecord: ['network', 'hostname', 'record_type', 'value'],
  certificate: ['network', 'hostname', 'port', 'serial'],
  httpheader: ['network', 'hostname', 'scheme', 'port', 'name'],
  finding: ['finding_type', 'ooi_type', 'ooi'],
} as const satisfies Record<string, readonly string[]>;

export type ObjectType = keyof typeof OBJECT_KEY_FIELDS;
export const OBJECT_TYPES = Object.keys(OBJECT_KEY_FIELDS) as ObjectType[];

export function isObjectType(value: string): value is ObjectType {
  return Object.prototype.hasOwnProperty.call(OBJECT_KEY_FIELDS, value);
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
const NETWORK = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Rules a key field must satisfy; a field without a rule must merely be non-empty. */
const FIELD_RULES: Record<string, { test: (v: string) => boolean; rule: string }> = {
  network: { test: (v) => NETWORK.test(v), rule: 'a network name (letters, digits, _ . -)' },
  name: { test: (v) => HOSTNAME.test(v) || NETWORK.test(v), rule: 'a DNS name' },
  hostname: { test: (v) => HOSTNAME.test(v) || isIP(v) !== 0, rule: 'a DNS name' },
  scheme: { test: (v) => v === 'http' || v === 'https', rule: 'http or https' },
  address: { test: (v) => isIP(v) !== 0, rule: 'an IPv4 or IPv6 address' },
  protocol: { test: (v) => v === 'tcp' || v === 'udp', rule: 'tcp or udp' },
  port: { test: (v) => /^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535, rule: 'a port 1-65535' },
};

/** The primary key of an object of `type` with these fields. */
export function objectKey(type: ObjectType, fields: Record<string, unknown>): string {
  return OBJECT_KEY_FIELDS[type].map((name) => String(fields[name])).join('|');
}

export interface ParsedObjectKey {
  objectType: ObjectType;
  fields: Record<string, string>;
}

/**
 * Reads `key` as the primary key of one of `types`, or explains why it is none. The last field
 * keeps the rest of the key, so it may contain `|` (a finding's object key, a TXT record's value).
 */
export function parseObjectKey(key: string, types: readonly string[]): ParsedObjectKey | { error: string } {
  const reasons: string[] = [];
  for (const type of types) {
    if (!isObjectType(type)) continue;
    const names = OBJECT_KEY_FIELDS[type];
    const parts = key.split('|');
    if (parts.length < names.length) {
      reasons.push(`a ${type} key has ${names.length} fields (${names.join('|')})`);
      continue;
    }
    const values = [...parts.slice(0, names.length - 1), parts.slice(names.length - 1).join('|')];
    const fields: Record<string, string> = {};
    const bad = names.find((name, i) => {
      fields[name] = values[i];
      const rule = FIELD_RULES[name];
      return values[i] === '' || (rule !== undefined && !rule.test(values[i]));
    });
    if (bad === undefined) return { objectType: type, fields };
    reasons.push(`${type} field ${bad} must be ${FIELD_RULES[bad]?.rule ?? 'non-empty'}`);
  }
  return { error: reasons.join('; ') || `no object type among ${types.join(', ')}` };
}

/**
 * Why a rate-limit key template cannot be resolved for every input of these types: each `{field}`
 * must be a key field of each type (so `{address}` suits ipaddress and ipport, not hostname).
 */
export function rateKeyErrors(template: string, types: readonly string[]): string[] {
  const fields = [...template.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]);
  return types.flatMap((type) => {
    const keyFields: readonly string[] = isObjectType(type) ? OBJECT_KEY_FIELDS[type] : [];
    const missing = fields.filter((field) => !keyFields.includes(field));
    return missing.length > 0 ? [`${type} has no key field ${missing.map((f) => `{${f}}`).join(', ')}`] : [];
  });
}
