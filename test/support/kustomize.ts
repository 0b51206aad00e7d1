import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as YAML gives it. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
};

interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/**
 * Renders a kustomization the way `kustomize build` does for the features this repository uses:
 * resources (files and bases), namespace, labels, images, replicas, secretGenerator (envs,
 * literals) and JSON 6902 patches. No kustomize binary is to be had on these machines.
 */
export function kustomize(dir: string): K8sObject[] {
  const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0].toJSON();
  let objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    objects.push(...(statSync(path).isDirectory() ? kustomize(path) : readObjects(path)));
  }
  for (const generator of k.secretGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const literal of generator.literals ?? []) {
      const [key, ...value] = String(literal).split('=');
      data[key] = value.join('=');
    }
    for (const file of generator.envs ?? []) {
      const path = existsSync(join(dir, file)) ? join(dir, file) : join(dir, `${file}.example`);
      for (const line of readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))) {
        const [key, ...value] = line.split('=');
        data[key] = value.join('=');
      }
    }
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: generator.name },
      type: 'Opaque',
      stringData: data,
    });
  }
  if (k.namespace) {
    objects = objects.map((o) =>
      o.kind === 'Namespace' ? o : { ...o, metadata: { ...o.metadata, namespace: k.namespace } },
    );
  }
  for (const { pairs } of k.labels ?? []) {
    for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...pairs };
  }
  for (const image of k.images ?? []) {
    for (const container of objects.flatMap(containersOf)) {
      const [name] = container.image.split(':');
      if (name === image.name) container.image = `${image.newName ?? name}:${image.newTag ?? 'latest'}`;
    }
  }
  for (const { name, count } of k.replicas ?? []) {
    const target = objects.find((o) => o.metadata.name === name && o.spec?.replicas !== undefined);
    if (!target) throw new Error(`replicas: no object ${name}`);
    target.spec.replicas = count;
  }
  for (const patch of k.patches ?? []) {
    const target = objects.find((o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name);
    if (!target) throw new Error(`patch: no ${patch.target.kind} ${patch.target.name}`);
    for (const op of parseAllDocuments(patch.patch)[0].toJSON() as JsonPatchOp[]) applyPatch(target, op);
  }
  return objects;
}

function readObjects(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJSON())
    .filter(Boolean);
}

function applyPatch(target: K8sObject, op: JsonPatchOp): void {
  const keys = op.path
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop()!;
  let node: any = target;
  for (const key of keys) node = node[key];
  if (op.op === 'remove') delete node[last];
  else node[last] = op.value;
}

/** The containers (and init containers) of a workload's pod template. */
export function containersOf(o: K8sObject): Array<Record<string, any>> {
  const pod = o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec;
  return pod ? [...(pod.initContainers ?? []), ...(pod.containers ?? [])] : [];
}

export function podSpecOf(o: K8sObject): Record<string, any> | undefined {
  return o.spec?.template?.spec;
}

export { dirname };
