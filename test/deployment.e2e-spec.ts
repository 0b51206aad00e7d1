import { KatSettings, loadSettings } from '@kat/domain';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { containersOf, kustomize, podSpecOf } from './support/kustomize';
import { TestEnvironment } from './support/environment';

const ROOT = join(__dirname, '..');
const APPS = ['kat-api', 'kat-scheduler', 'kat-worker'];
/** Every variable the apps read (libs/domain/src/config/settings.ts). */
const SETTINGS = [...Object.keys(new KatSettings()), 'DOCKER_HOST', 'SECRETS_KEY'];
/** Those whose defaults only make sense on a developer's machine, and the key of organizations' plugin settings. */
const REQUIRED = ['DATABASE_URL', 'REDIS_URL', 'SECRETS_KEY'];
/** What an operator puts in .env for docker-compose. */
const COMPOSE_ENV = { POSTGRES_PASSWORD: 'test', SECRETS_KEY: 'ab'.repeat(32) };

async function validator(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  const group = apiVersion === 'v1' ? 'v1' : apiVersion;
  // 4.x: CommonJS, which Jest here needs (5.x is ESM-only). KEDA's from its CRD: @kubernetes-models/keda
  // 0.4.x, the CommonJS line on the same base.
  const models = apiVersion.startsWith('keda.sh/')
    ? await import(`@kubernetes-models/keda/${apiVersion}`)
    : await import(`kubernetes-models/${group}`);
  if (!models[kind]) throw new Error(`no schema for ${apiVersion} ${kind}`);
  return models[kind];
}

/** Entry points the deployment artefacts run, e.g. dist/apps/api/main.js. */
function entryPoints(text: string): string[] {
  return [...new Set([...text.matchAll(/dist\/apps\/[a-z]+\/[a-z]+\.js/g)].map((m) => m[0]))];
}

describe.each(['example', 'dev'])('Kubernetes manifests, overlay %s', (overlay) => {
  const objects = kustomize(join(ROOT, 'k8s/overlays', overlay));
  const byName = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
  const workloads = objects.filter((o) => podSpecOf(o));
  const appWorkloads = workloads.filter((o) => APPS.includes(o.metadata.name) || o.kind === 'Job');

  it('validates every object against the Kubernetes schemas (which do reject a broken one)', async () => {
    const Deployment = await validator('apps/v1', 'Deployment');
    expect(() =>
      new Deployment({ ...byName('Deployment', 'kat-api'), spec: { replicas: 'two' } }).validate(),
    ).toThrow();
    for (const object of objects) {
      const Model = await validator(object.apiVersion, object.kind);
      expect(() => new Model(object).validate()).not.toThrow();
    }
  });

  it('has the api, scheduler and worker with probes, limits, the grace the worker needs, a migration Job', () => {
    for (const name of APPS) expect(byName('Deployment', name)).toBeDefined();
    expect(objects.find((o) => o.kind === 'Job' && o.metadata.name.startsWith('kat-migrate'))).toBeDefined();
    for (const workload of appWorkloads.filter((o) => o.kind === 'Deployment')) {
      const [app] = containersOf(workload);
      expect(app.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(app.livenessProbe.httpGet.path).toBe('/health');
    }
    for (const container of workloads.flatMap(containersOf)) {
      expect(container.resources?.requests).toEqual(
        expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
      );
      expect(container.resources?.limits).toEqual(
        expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
      );
    }
    const config = byName('ConfigMap', 'kat-config').data;
    expect(podSpecOf(byName('Deployment', 'kat-worker'))!.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      Number(config.SHUTDOWN_GRACE_SECONDS),
    );
    for (const name of APPS)
      expect(objects.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === name)).toBeDefined();
    expect(byName('HorizontalPodAutoscaler', 'kat-worker').spec.scaleTargetRef.name).toBe('kat-worker');
    expect(byName('Service', 'kat-api')).toBeDefined();
    expect(byName('Ingress', 'kat-api')).toBeDefined();
  });

  it('scales the workers on their waiting line with KEDA where the overlay asks (example), else on CPU', async () => {
    const scaled = objects.find((o) => o.kind === 'ScaledObject');
    const cpu = byName('HorizontalPodAutoscaler', 'kat-worker');
    expect(cpu.spec.metrics[0].resource.name).toBe('cpu');
    if (overlay === 'dev') return expect(scaled).toBeUndefined();
    const ScaledObject = await validator('keda.sh/v1alpha1', 'ScaledObject');
    expect(() =>
      new ScaledObject({ ...scaled, spec: { ...scaled!.spec, triggers: 'postgresql' } }).validate(),
    ).toThrow();
    // KEDA takes the base's CPU autoscaler over (same name) and keeps CPU as its second trigger.
    expect(scaled!.spec.scaleTargetRef.name).toBe('kat-worker');
    expect(scaled!.metadata.annotations?.['scaledobject.keda.sh/transfer-hpa-ownership']).toBe('true');
    expect(scaled!.spec.advanced.horizontalPodAutoscalerConfig.name).toBe(cpu.metadata.name);
    const [line, cpuTrigger] = scaled!.spec.triggers;
    expect(cpuTrigger).toMatchObject({ type: 'cpu', metadata: { value: '70' } });
    expect(line.type).toBe('postgresql');
    const auth = byName('TriggerAuthentication', line.authenticationRef.name);
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'connection', name: 'kat-secrets', key: 'DATABASE_URL' }]);
    // The query runs against the real schema and counts what waits and is due, through the waiting line's index.
    const environment = await TestEnvironment.create();
    try {
      const plan = await environment.withDataSource(async (db) => {
        const org = (await db.query(`INSERT INTO organization (code, name) VALUES ('a', 'a') RETURNING id`))[0].id;
        await db.query(
          `INSERT INTO task (organization_id, type, data, run_after)
           SELECT $1, 'plugin', jsonb_build_object('plugin_id', 'p', 'input_data', 'internet|h' || i), CASE WHEN i > 3
                  THEN now() + interval '1 hour' END FROM generate_series(1, 5) i`,
          [org],
        );
        const [{ count }] = await db.query(line.metadata.query);
        await db.query('SET enable_seqscan = off');
        return { count: Number(count), plan: JSON.stringify(await db.query(`EXPLAIN ${line.metadata.query}`)) };
      });
      expect(plan.count).toBe(3);
      expect(plan.plan).toContain('task_waiting');
    } finally {
      await environment.destroy();
    }
  });

  it('runs everything as non-root but the engine sidecar, the only privileged container', () => {
    for (const workload of workloads) {
      const pod = podSpecOf(workload)!;
      for (const container of containersOf(workload)) {
        const privileged = container.securityContext?.privileged === true;
        expect(privileged).toBe(container.name === 'engine');
        if (privileged) continue;
        expect(container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot).toBe(true);
        expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
      }
    }
  });

  it('gives the apps every setting they need, and no setting they do not know', () => {
    const config = byName('ConfigMap', 'kat-config').data as Record<string, string>;
    const secret = byName('Secret', 'kat-secrets').stringData as Record<string, string>;
    for (const workload of appWorkloads) {
      const [app] = containersOf(workload);
      const provided: Record<string, string> = {};
      for (const source of app.envFrom ?? []) Object.assign(provided, source.configMapRef ? config : secret);
      for (const variable of app.env ?? []) provided[variable.name] = variable.value;
      for (const key of REQUIRED) expect(provided).toHaveProperty(key);
      for (const key of Object.keys(provided)) expect(SETTINGS).toContain(key);
    }
    expect(config.PLUGIN_API_URL).toBe('http://kat-api.kat.svc.cluster.local:3000/api/v1');
    // The example's placeholder key must be replaced: the apps refuse it, naming it. The dev overlay's is a key.
    if (overlay === 'example')
      expect(() => loadSettings({ SECRETS_KEY: secret.SECRETS_KEY })).toThrow(/SECRETS_KEY=\(not shown\)/);
    else expect(loadSettings({ SECRETS_KEY: secret.SECRETS_KEY }).SECRETS_KEY).toBe(secret.SECRETS_KEY);
  });

  it('uses one image for every app, and the entry points the build makes', () => {
    const images = new Set(
      appWorkloads
        .flatMap(containersOf)
        .filter((c) => c.name !== 'engine')
        .map((c) => c.image),
    );
    expect(images.size).toBe(1);
    if (overlay === 'example') expect([...images]).toEqual(['registry.example.com/kat/kat-tasks:0.1.0']);
    for (const entry of entryPoints(JSON.stringify(objects))) expect(existsSync(join(ROOT, entry))).toBe(true);
  });

  it('keeps worker egress to DNS, the api and the internet outside private ranges', () => {
    const policy = byName('NetworkPolicy', 'kat-worker-egress').spec;
    expect(policy.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'kat-worker' });
    const internet = policy.egress.find((rule: any) => rule.to?.[0]?.ipBlock);
    expect(internet.to[0].ipBlock).toEqual({
      cidr: '0.0.0.0/0',
      except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'],
    });
    expect(policy.egress.find((rule: any) => rule.to?.[0]?.podSelector)?.to[0].podSelector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'kat-api',
    });
    const engine = containersOf(byName('Deployment', 'kat-worker')).find((c) => c.name === 'engine')!;
    expect(engine.env.find((e: { name: string }) => e.name === 'PLUGIN_BLOCKED_CIDRS').value).toBe(
      internet.to[0].ipBlock.except.join(','),
    );
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));

  it('is valid for docker-compose', () => {
    const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: ROOT,
      env: { ...process.env, ...COMPOSE_ENV },
      encoding: 'utf8',
    });
    if (result.error)
      throw new Error(`docker-compose is not installed (apt-get install docker-compose): ${result.error.message}`);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    // Without the secret it refuses to start, naming it.
    const missing = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('set POSTGRES_PASSWORD');
    const missingKey = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, POSTGRES_PASSWORD: 'test' },
      encoding: 'utf8',
    });
    expect(missingKey.status).not.toBe(0);
    expect(missingKey.stderr).toContain('set SECRETS_KEY');
  });

  it('starts the apps after the migration, with every setting they need and none they do not know', () => {
    const rendered = parse(
      execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
        cwd: ROOT,
        env: { ...process.env, ...COMPOSE_ENV },
        encoding: 'utf8',
      }),
    );
    for (const name of ['api', 'scheduler', 'worker']) {
      const service = rendered.services[name];
      expect(service.depends_on.migrate.condition).toBe('service_completed_successfully');
      for (const key of REQUIRED) expect(service.environment).toHaveProperty(key);
      for (const key of Object.keys(service.environment)) expect(SETTINGS).toContain(key);
    }
    expect(
      rendered.services.worker.volumes.map((v: { target: string } | string) => (typeof v === 'string' ? v : v.target)),
    ).toContainEqual(expect.stringContaining('/var/run/docker.sock'));
    expect(rendered.services.worker.environment.PLUGIN_NETWORK).toBe('kat-plugins');
    expect(rendered.networks.plugins.name).toBe('kat-plugins');
    expect(rendered.services.api.networks).toHaveProperty('plugins');
    expect(rendered.services.postgres.healthcheck).toBeDefined();
    expect(rendered.services.redis.healthcheck).toBeDefined();
  });

  it('runs entry points that the build makes, from the same image the Dockerfile builds', () => {
    for (const entry of entryPoints(JSON.stringify(compose))) expect(existsSync(join(ROOT, entry))).toBe(true);
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    for (const entry of entryPoints(dockerfile)) expect(existsSync(join(ROOT, entry))).toBe(true);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('npm prune --omit=dev');
  });
});
