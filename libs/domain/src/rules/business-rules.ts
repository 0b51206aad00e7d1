/**
 * The business rules: each a set-based query over the object store (organization $1) returning
 * the findings that hold now, as rows (finding_type, ooi_type, ooi, evidence). The engine keeps
 * only those about objects that a COMPLETED task of every plugin in `requires` scanned (took as
 * input) or produced; OpenKAT counts a task of any status.
 */
export interface BusinessRule {
  rule_id: string;
  name: string;
  description: string;
  object_type: string;
  finding_types: string[];
  requires: string[];
  sql: string;
}

/**
 * Hostnames that have DNS records of their own but none for which `flag` holds. Records are
 * aggregated per hostname first (those of _dmarc.<name> count for <name>) and then joined: one
 * hash join, where a NOT EXISTS over jsonb fields is misestimated into a quadratic nested loop.
 */
const hostnamesLacking = (flag: string) => `
  FROM object h
  JOIN (SELECT d.data->>'network' AS network, regexp_replace(d.data->>'hostname', '^_dmarc[.]', '') AS name,
               bool_or(left(d.data->>'hostname', 1) <> '_') AS has_records, bool_or(${flag}) AS has_it
        FROM object d WHERE d.organization_id = $1 AND d.object_type = 'dnsrecord'
        GROUP BY 1, 2) r ON r.name = h.data->>'name' AND r.network = h.data->>'network'
  WHERE h.organization_id = $1 AND h.object_type = 'hostname' AND left(h.data->>'name', 1) <> '_'
    AND r.has_records AND NOT r.has_it`;

const OWN_RECORD = `left(d.data->>'hostname', 1) <> '_'`;

const openPorts = (code: string, ports: number[]) => `
  SELECT '${code}' AS finding_type, 'ipport' AS ooi_type, p.primary_key AS ooi,
         format('%s %s/%s is open', p.data->>'address', p.data->>'port', p.data->>'protocol') AS evidence
  FROM object p
  WHERE p.organization_id = $1 AND p.object_type = 'ipport' AND p.data->>'protocol' = 'tcp'
    AND (p.data->>'port')::int IN (${ports.join(', ')}) AND coalesce(p.data->>'state', 'open') = 'open'`;

export const BUSINESS_RULES: BusinessRule[] = [
  {
    rule_id: 'check_ssl_expiry',
    name: 'Certificate expiry',
    description: 'The latest certificate seen on each hostname and port has expired, or expires within 30 days.',
    object_type: 'certificate',
    finding_types: ['KAT-CERTIFICATE-EXPIRED', 'KAT-CERTIFICATE-EXPIRING'],
    requires: ['ssl_certificate'],
    sql: `
      SELECT CASE WHEN (c.data->>'not_after')::timestamptz < now() THEN 'KAT-CERTIFICATE-EXPIRED'
                  ELSE 'KAT-CERTIFICATE-EXPIRING' END AS finding_type,
             'certificate' AS ooi_type, c.primary_key AS ooi,
             format('%s:%s serves certificate %s, valid until %s',
                    c.data->>'hostname', c.data->>'port', c.data->>'serial', c.data->>'not_after') AS evidence
      FROM (SELECT DISTINCT ON (data->>'network', data->>'hostname', data->>'port') *
            FROM object WHERE organization_id = $1 AND object_type = 'certificate'
            ORDER BY data->>'network', data->>'hostname', data->>'port', last_seen DESC) c
      WHERE (c.data->>'not_after')::timestamptz < now() + interval '30 days'`,
  },
  {
    rule_id: 'missing_spf',
    name: 'Missing SPF',
    description: 'A hostname whose DNS records were scanned has no TXT record starting with v=spf1.',
    object_type: 'hostname',
    finding_types: ['KAT-NO-SPF'],
    requires: ['dns_records'],
    sql: `SELECT 'KAT-NO-SPF' AS finding_type, 'hostname' AS ooi_type, h.primary_key AS ooi,
                 'no TXT record v=spf1' AS evidence
      ${hostnamesLacking(`${OWN_RECORD} AND d.data->>'record_type' = 'TXT' AND d.data->>'value' ILIKE 'v=spf1%'`)}`,
  },
  {
    rule_id: 'missing_dmarc',
    name: 'Missing DMARC',
    description: 'A hostname whose DNS records were scanned has no v=DMARC1 TXT record at _dmarc.<hostname>.',
    object_type: 'hostname',
    finding_types: ['KAT-NO-DMARC'],
    requires: ['dns_records'],
    sql: `SELECT 'KAT-NO-DMARC' AS finding_type, 'hostname' AS ooi_type, h.primary_key AS ooi,
                 format('no TXT record v=DMARC1 at _dmarc.%s', h.data->>'name') AS evidence
      ${hostnamesLacking(`d.data->>'hostname' LIKE '\\_dmarc.%' AND d.data->>'record_type' = 'TXT'
                          AND d.data->>'value' ILIKE 'v=DMARC1%'`)}`,
  },
  {
    rule_id: 'missing_caa',
    name: 'Missing CAA',
    description: 'A hostname whose DNS records were scanned has no CAA record.',
    object_type: 'hostname',
    finding_types: ['KAT-NO-CAA'],
    requires: ['dns_records'],
    sql: `SELECT 'KAT-NO-CAA' AS finding_type, 'hostname' AS ooi_type, h.primary_key AS ooi, 'no CAA record' AS evidence
      ${hostnamesLacking(`${OWN_RECORD} AND d.data->>'record_type' = 'CAA'`)}`,
  },
  {
    rule_id: 'open_database_port',
    name: 'Open database port',
    description: 'A database port (3306, 5432, 1433, 27017, 6379) is open.',
    object_type: 'ipport',
    finding_types: ['KAT-OPEN-DATABASE-PORT'],
    requires: ['port_scan'],
    sql: openPorts('KAT-OPEN-DATABASE-PORT', [3306, 5432, 1433, 27017, 6379]),
  },
  {
    rule_id: 'open_sysadmin_port',
    name: 'Open administration port',
    description: 'A remote administration port (22, 23, 3389, 5900) is open.',
    object_type: 'ipport',
    finding_types: ['KAT-OPEN-SYSADMIN-PORT'],
    requires: ['port_scan'],
    sql: openPorts('KAT-OPEN-SYSADMIN-PORT', [22, 23, 3389, 5900]),
  },
  {
    rule_id: 'missing_security_headers',
    name: 'Missing security headers',
    description:
      'A hostname whose HTTP response was recorded lacks Strict-Transport-Security, Content-Security-Policy, ' +
      'X-Frame-Options or X-Content-Type-Options.',
    object_type: 'hostname',
    finding_types: ['KAT-NO-HSTS', 'KAT-NO-CSP', 'KAT-NO-X-FRAME-OPTIONS', 'KAT-NO-X-CONTENT-TYPE-OPTIONS'],
    requires: ['http_headers'],
    sql: `
      SELECT f.code AS finding_type, 'hostname' AS ooi_type, h.primary_key AS ooi,
             format('no %s header in the response', f.header) AS evidence
      FROM object h
      JOIN (SELECT x.data->>'network' AS network, x.data->>'hostname' AS name, array_agg(x.data->>'name') AS headers
            FROM object x WHERE x.organization_id = $1 AND x.object_type = 'httpheader'
            GROUP BY 1, 2) r ON r.name = h.data->>'name' AND r.network = h.data->>'network'
      CROSS JOIN (VALUES ('KAT-NO-HSTS', 'strict-transport-security'), ('KAT-NO-CSP', 'content-security-policy'),
                         ('KAT-NO-X-FRAME-OPTIONS', 'x-frame-options'),
                         ('KAT-NO-X-CONTENT-TYPE-OPTIONS', 'x-content-type-options')) AS f(code, header)
      WHERE h.organization_id = $1 AND h.object_type = 'hostname' AND NOT (f.header = ANY(r.headers))`,
  },
];

export function findRule(ruleId: string): BusinessRule | undefined {
  return BUSINESS_RULES.find((rule) => rule.rule_id === ruleId);
}
