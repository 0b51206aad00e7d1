import { DataSource } from 'typeorm';
import { Organization } from '../organizations/organization.entity';
import { Plugin, PluginOutput } from '../plugins/plugin.entity';
import { FINDING_TYPES } from '../rules/finding-types';

export const DEMO_ORGANIZATION = { code: 'demo', name: 'Demo organization' };

const PLUGINS_IMAGE = 'kat-plugins:latest';
/** nmap from Debian's package: plugins/nmap/build-image.sh (or its Dockerfile). */
const NMAP_IMAGE = 'kat-nmap:latest';

/**
 * Built-in plugins: `kat-plugins` is built from plugins/ (plugins/build-image.sh, or its
 * Dockerfile); `kat-busybox` is Debian's static busybox (scripts/build-plugin-images.sh).
 * Both build without any registry.
 */
export const BUILTIN_PLUGINS: Array<Partial<Plugin> & Pick<Plugin, 'plugin_id'>> = [
  {
    plugin_id: 'hello',
    name: 'Hello',
    description: 'Prints the input it was given: a plugin to see the task lifecycle work end to end.',
    image: 'kat-busybox:latest',
    command: ['sh', '-c', 'echo "hello from a container: {input}" >&2'],
    consumes: ['hostname', 'ipaddress', 'network'],
    produces: [],
    timeout_seconds: 30,
    memory_mb: 32,
  },
  {
    plugin_id: 'dns_records',
    name: 'DNS records',
    description:
      'Looks up the A, AAAA, CNAME, MX, NS, TXT and CAA records of a hostname. Setting RESOLVER picks the DNS server.',
    image: PLUGINS_IMAGE,
    command: ['node', '/app/dns_records.js'],
    consumes: ['hostname'],
    produces: ['dnsrecord', 'ipaddress', 'hostname'],
    timeout_seconds: 120,
    memory_mb: 128,
  },
  {
    plugin_id: 'port_scan',
    name: 'TCP port scan',
    description: 'TCP connect scan of an address. Settings: PORTS (e.g. "22,80,8000-8010"), TIMEOUT_MS, CONCURRENCY.',
    image: PLUGINS_IMAGE,
    command: ['node', '/app/port_scan.js'],
    consumes: ['ipaddress'],
    produces: ['ipport'],
    timeout_seconds: 600,
    memory_mb: 128,
  },
  {
    plugin_id: 'ssl_certificate',
    name: 'TLS certificate',
    description: 'Reads the certificate a hostname (setting PORT, default 443) or an open port serves.',
    image: PLUGINS_IMAGE,
    command: ['node', '/app/ssl_certificate.js'],
    consumes: ['hostname', 'ipport'],
    produces: ['certificate'],
    timeout_seconds: 60,
    memory_mb: 128,
  },
  {
    plugin_id: 'http_headers',
    name: 'HTTP headers',
    description:
      'Records the response headers of https://<name>/ (or http:// if that fails). Settings: HTTPS_PORT, HTTP_PORT.',
    image: PLUGINS_IMAGE,
    command: ['node', '/app/http_headers.js'],
    consumes: ['hostname'],
    produces: ['httpheader'],
    timeout_seconds: 60,
    memory_mb: 128,
  },
  {
    plugin_id: 'nmap',
    name: 'nmap service scan',
    description:
      "nmap's TCP connect scan with service detection (-sV) of the 100 most common ports of an IPv4 address, " +
      "unprivileged. Its XML report is kept as the task's output file; nmap_services turns it into ipport objects.",
    image: NMAP_IMAGE,
    command: ['nmap', '-sT', '-sV', '-Pn', '-n', '--unprivileged', '-oX', '-', '--top-ports', '100', '{address}'],
    consumes: ['ipaddress'],
    produces: [],
    output: PluginOutput.raw,
    media_type: 'application/xml',
    timeout_seconds: 900,
    memory_mb: 256,
  },
  {
    plugin_id: 'nmap_services',
    name: 'nmap services (normalizer)',
    description: "Turns an nmap task's XML report into ipport objects: each open port, with the service nmap named.",
    image: PLUGINS_IMAGE,
    command: ['node', '/app/nmap_normalizer.js'],
    consumes: ['file:nmap'],
    produces: ['ipport'],
    timeout_seconds: 60,
    memory_mb: 128,
  },
];

/** Idempotent: creates what is missing, updates built-in plugins to their current definition. */
export async function seed(db: DataSource): Promise<string[]> {
  const done: string[] = [];
  const organizations = db.getRepository(Organization);
  if (!(await organizations.existsBy({ code: DEMO_ORGANIZATION.code }))) {
    await organizations.insert(DEMO_ORGANIZATION);
    done.push(`organization ${DEMO_ORGANIZATION.code} created`);
  }
  await db.getRepository(Plugin).upsert(BUILTIN_PLUGINS, { conflictPaths: ['plugin_id'] });
  await db.query(
    `INSERT INTO finding_type (code, name, description, recommendation, severity, score)
     SELECT * FROM jsonb_to_recordset($1::jsonb)
       AS x(code text, name text, description text, recommendation text, severity text, score numeric)
     ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
       recommendation = EXCLUDED.recommendation, severity = EXCLUDED.severity, score = EXCLUDED.score`,
    [JSON.stringify(FINDING_TYPES)],
  );
  done.push(`${FINDING_TYPES.length} finding types`);
  done.push(
    `${BUILTIN_PLUGINS.length} built-in plugin(s) registered: ${BUILTIN_PLUGINS.map((p) => p.plugin_id).join(', ')}`,
  );
  return done;
}
