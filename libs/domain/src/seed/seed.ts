import { DataSource } from 'typeorm';
import { Organization } from '../organization/organization.entity';
import { Plugin } from '../plugin/plugin.entity';

export const DEMO_ORGANIZATION = { code: 'demo', name: 'Demo organization' };

/**
 * Built-in plugins. `kat-busybox` is the tiny image scripts/build-plugin-images.sh builds from
 * Debian's static busybox without any registry.
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
  done.push(`${BUILTIN_PLUGINS.length} built-in plugin(s) registered: ${BUILTIN_PLUGINS.map((p) => p.plugin_id).join(', ')}`);
  return done;
}
