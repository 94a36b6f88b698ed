import { describe, it, expect, beforeAll } from '@jest/globals';
import { CONFIG_VARS, loadConfig } from '@scaidrive/core';
import { QUEUE_CONNECTOR_SYNC, QUEUE_DEPTH_SQL } from '@scaidrive/jobs';
import { schemaErrors, strictErrors, strictErrorsByRender } from './schema.js';
import {
  effectiveEnv,
  find,
  k8sDir,
  kustomize,
  podSpec,
  readText,
  renderWithComponents,
  WORKLOAD_KINDS,
  type K8sObject,
} from './support.js';
import path from 'node:path';

/**
 * deploy/kubernetes rendered with Kustomize, for the default (base) and the production overlay, and
 * the base with each optional component: schema-valid, and what an operator relies on holds.
 */
const API = 'scaidrive-connectors-api';
const WORKER = 'scaidrive-connectors-worker';
const MIGRATE = 'scaidrive-connectors-migrate';
const SECRET_VARS = Object.entries(CONFIG_VARS)
  .filter(([, spec]) => (spec as { secret?: boolean }).secret === true)
  .map(([name]) => name);
/** Secret variables a pod may run without (cloud identity instead of static S3 keys). */
const OPTIONAL_SECRETS = new Set(['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
/**
 * Variables deliberately not wired in Kubernetes (each must be explained in deploy/README.md under
 * "Configuration"). Empty today: every variable is in the ConfigMap or the Secret.
 */
const NOT_WIRED: string[] = [];

const variants: Record<string, () => K8sObject[]> = {
  default: () => kustomize(path.join(k8sDir, 'base')),
  production: () => kustomize(path.join(k8sDir, 'overlays', 'production')),
  'base+keda': () => renderWithComponents(['keda']),
  'base+blob-pvc': () => renderWithComponents(['blob-pvc']),
  'base+ingress+servicemonitor': () => renderWithComponents(['ingress', 'servicemonitor']),
};
const rendered: Record<string, K8sObject[]> = {};
let strict: Record<string, string[]> = {};

beforeAll(() => {
  for (const [name, render] of Object.entries(variants)) rendered[name] = render();
  // One TypeScript program for every variant (a program per variant costs seconds each).
  strict = strictErrorsByRender(rendered);
}, 180_000);

function containers(o: K8sObject): { init: boolean; c: any }[] {
  const spec = podSpec(o);
  return [
    ...(spec.initContainers ?? []).map((c: any) => ({ init: true, c })),

    ...spec.containers.map((c: any) => ({ init: false, c })),
  ];
}
const workloads = (objs: K8sObject[]) => objs.filter((o) => WORKLOAD_KINDS.has(o.kind));
const mainContainer = (o: K8sObject) => podSpec(o).containers[0];

describe.each(Object.keys(variants))('deploy/kubernetes (%s)', (variant) => {
  const objs = () => rendered[variant]!;

  it('renders the expected objects', () => {
    const names = objs().map((o) => `${o.kind}/${o.metadata.name}`);
    for (const expected of [
      `Deployment/${API}`,
      `Service/${API}`,
      `Deployment/${WORKER}`,
      `Service/${WORKER}-metrics`,
      `Job/${MIGRATE}`,
      `PodDisruptionBudget/${API}`,
      `PodDisruptionBudget/${WORKER}`,
      `NetworkPolicy/${API}`,
      `NetworkPolicy/${WORKER}`,
      `NetworkPolicy/${MIGRATE}`,
      'ServiceAccount/scaidrive-connectors',
    ])
      expect(names).toContain(expected);
    expect(names.filter((n) => n.startsWith('ConfigMap/'))).toHaveLength(1);
    // Exactly one autoscaler for the workers: the CPU HPA or the KEDA ScaledObject.
    const scalers = objs().filter(
      (o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject',
    );
    expect(scalers).toHaveLength(1);
    expect(scalers[0]!.spec.scaleTargetRef.name).toBe(WORKER);
  });

  it('passes the Kubernetes API schemas (kubernetes-models validators)', async () => {
    expect(await schemaErrors(objs())).toEqual([]);
  });

  it('has no unknown or mistyped fields (strict, like kubeconform -strict)', () => {
    expect(strict[variant]).toEqual([]);
  });

  it('runs every container as non-root with a locked-down security context and limits', () => {
    for (const w of workloads(objs())) {
      const spec = podSpec(w);
      expect([w.metadata.name, spec.securityContext?.seccompProfile?.type]).toEqual([
        w.metadata.name,
        'RuntimeDefault',
      ]);
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const { c } of containers(w)) {
        const where = `${w.metadata.name}/${c.name}`;
        const sc = c.securityContext ?? {};
        const nonRoot = sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
        const uid = sc.runAsUser ?? spec.securityContext?.runAsUser;
        expect([where, nonRoot, typeof uid === 'number' && uid > 0]).toEqual([where, true, true]);
        expect([where, sc.allowPrivilegeEscalation, sc.readOnlyRootFilesystem]).toEqual([
          where,
          false,
          true,
        ]);
        expect([where, sc.capabilities?.drop]).toEqual([where, ['ALL']]);
        expect([where, sc.privileged ?? false, sc.capabilities?.add ?? []]).toEqual([
          where,
          false,
          [],
        ]);
        for (const r of ['cpu', 'memory'])
          expect([where, r, !!c.resources?.requests?.[r], !!c.resources?.limits?.[r]]).toEqual([
            where,
            r,
            true,
            true,
          ]);
        // The image is pinned (a tag other than latest, or a digest) and the same for every role.
        expect(c.image).toMatch(/(:(?!latest$)[\w.-]+|@sha256:[0-9a-f]{64})$/);
        expect(c.image).toBe(mainContainer(find(objs(), 'Deployment', API)).image);
      }
    }
  });

  it('probes the real health endpoints on the configured ports', () => {
    const api = find(objs(), 'Deployment', API);
    const worker = find(objs(), 'Deployment', WORKER);
    const port = (c: { ports: { name: string; containerPort: number }[] }, name: string) =>
      c.ports.find((p) => p.name === name)?.containerPort;
    const a = mainContainer(api);
    const w = mainContainer(worker);
    expect(a.args).toEqual(['api']);
    expect(w.args).toEqual(['worker']);
    expect(a.livenessProbe.httpGet).toEqual({ path: '/api/v1/health', port: 'http' });
    expect(a.readinessProbe.httpGet).toEqual({ path: '/api/v1/ready', port: 'http' });
    expect(a.startupProbe.httpGet.path).toBe('/api/v1/health');
    expect(w.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(w.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(w.startupProbe.httpGet.path).toBe('/healthz');
    // The named ports are the ports the processes listen on (PORT / WORKER_PORT).
    expect(String(port(a, 'http'))).toBe(effectiveEnv(objs(), a).values.get('PORT'));
    expect(String(port(w, 'metrics'))).toBe(effectiveEnv(objs(), w).values.get('WORKER_PORT'));
    // Every long-running container has liveness and readiness probes.
    for (const d of objs().filter((o) => o.kind === 'Deployment'))
      for (const c of podSpec(d).containers)
        expect([c.name, !!c.livenessProbe, !!c.readinessProbe]).toEqual([c.name, true, true]);
  });

  it('wires every configuration variable: secrets only from the Secret, the rest from the ConfigMap', () => {
    const cm = objs().find((o) => o.kind === 'ConfigMap')!;
    const data = cm.data as Record<string, string>;
    // No secret in a ConfigMap, by name or by the look of the value.
    for (const name of SECRET_VARS) expect(Object.keys(data)).not.toContain(name);
    for (const [k, v] of Object.entries(data)) {
      expect([k, /:\/\/[^/\s:@]+:[^/\s@]+@/.test(v)]).toEqual([k, false]); // user:password@ URLs
      expect([k, /\b\w+:[A-Za-z0-9+/]{43}=/.test(v)]).toEqual([k, false]); // SECRET_KEYS material
    }
    for (const name of NOT_WIRED) expect(readText('deploy/README.md')).toContain(`\`${name}\``);
    const secretNames = new Set<string>();
    for (const d of [find(objs(), 'Deployment', API), find(objs(), 'Deployment', WORKER)]) {
      const env = effectiveEnv(objs(), mainContainer(d));
      for (const name of Object.keys(CONFIG_VARS)) {
        if (NOT_WIRED.includes(name)) continue;
        if (SECRET_VARS.includes(name)) {
          const ref = env.secretRefs.get(name);
          expect([d.metadata.name, name, ref?.key, ref?.optional]).toEqual([
            d.metadata.name,
            name,
            name,
            OPTIONAL_SECRETS.has(name),
          ]);
          secretNames.add(ref!.name);
        } else {
          expect([d.metadata.name, name, env.values.has(name)]).toEqual([
            d.metadata.name,
            name,
            true,
          ]);
        }
      }
      // The configuration the pod gets is valid for the app (e.g. S3 bucket set when BLOB_DRIVER=s3).
      const asEnv = Object.fromEntries(env.values);
      for (const s of env.secretRefs.keys())
        asEnv[s] =
          s === 'DATABASE_URL'
            ? 'postgresql://u:p@db:5432/scaidrive'
            : s === 'SECRET_KEYS'
              ? `k1:${Buffer.alloc(32, 1).toString('base64')}`
              : 'x';
      expect(() => loadConfig(asEnv)).not.toThrow();
      expect(loadConfig(asEnv).NODE_ENV).toBe('production');
    }
    // Init containers and the Job take the database URL from the same Secret.
    for (const w of workloads(objs()))
      for (const { c } of containers(w))
        for (const e of c.env ?? [])
          if (e.valueFrom?.secretKeyRef) secretNames.add(e.valueFrom.secretKeyRef.name);
    for (const t of objs().filter((o) => o.kind === 'TriggerAuthentication'))
      for (const r of t.spec.secretTargetRef) secretNames.add(r.name);
    expect(secretNames.size).toBe(1);
    // Secrets are referenced, never rendered: users bring (or generate) their own.
    expect(objs().filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('gives the worker a grace period above its shutdown budget', () => {
    const worker = find(objs(), 'Deployment', WORKER);
    const shutdown = Number(
      effectiveEnv(objs(), mainContainer(worker)).values.get('SHUTDOWN_TIMEOUT_SECONDS'),
    );
    expect(shutdown).toBeGreaterThan(0);
    expect(podSpec(worker).terminationGracePeriodSeconds).toBeGreaterThan(shutdown);
    const api = find(objs(), 'Deployment', API);
    const apiShutdown = Number(
      effectiveEnv(objs(), mainContainer(api)).values.get('SHUTDOWN_TIMEOUT_SECONDS'),
    );
    const preStop = Number(mainContainer(api).lifecycle?.preStop?.exec?.command?.[1] ?? 0);
    expect(podSpec(api).terminationGracePeriodSeconds).toBeGreaterThan(apiShutdown + preStop);
  });

  it('orders migrations before new pods: init containers wait for the migration Job', () => {
    const job = find(objs(), 'Job', MIGRATE);
    expect(mainContainer(job).args).toEqual(['migrate']);
    expect(podSpec(job).restartPolicy).toBe('Never');
    for (const name of [API, WORKER]) {
      const init = podSpec(find(objs(), 'Deployment', name)).initContainers ?? [];
      expect(init.map((c: { args: string[] }) => c.args[0])).toEqual(['wait-for-migrations']);
    }
  });

  it('autoscales workers on exactly QUEUE_DEPTH_SQL (KEDA) or CPU (fallback)', () => {
    const so = objs().find((o) => o.kind === 'ScaledObject');
    const worker = find(objs(), 'Deployment', WORKER);
    expect(worker.spec.replicas).toBeUndefined();
    if (!so) {
      const hpa = find(objs(), 'HorizontalPodAutoscaler', WORKER);
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
      return;
    }
    const trigger = so.spec.triggers[0];
    expect(trigger.type).toBe('postgresql');
    expect(trigger.metadata.query).toBe(QUEUE_DEPTH_SQL);
    expect(trigger.metadata.query).toContain(`name = '${QUEUE_CONNECTOR_SYNC}'`);
    // One worker per WORKER_CONCURRENCY queued-or-running jobs.
    expect(trigger.metadata.targetQueryValue).toBe(
      effectiveEnv(objs(), mainContainer(worker)).values.get('WORKER_CONCURRENCY'),
    );
    // Workers run the scheduler: never scale to zero.
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(so.spec.maxReplicaCount).toBeGreaterThan(so.spec.minReplicaCount);
    const auth = find(objs(), 'TriggerAuthentication', trigger.authenticationRef.name);
    expect(auth.spec.secretTargetRef).toEqual([
      expect.objectContaining({ parameter: 'connection', key: 'DATABASE_URL' }),
    ]);
  });

  it('selects the right pods with Services, PDBs, NetworkPolicies and the ServiceMonitor', () => {
    const labelsOf = (name: string) =>
      find(objs(), 'Deployment', name).spec.template.metadata.labels;
    const selects = (sel: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(sel).every(([k, v]) => labels[k] === v);
    const api = labelsOf(API);
    const worker = labelsOf(WORKER);
    expect(selects(find(objs(), 'Service', API).spec.selector, api)).toBe(true);
    expect(selects(find(objs(), 'Service', `${WORKER}-metrics`).spec.selector, worker)).toBe(true);
    expect(selects(find(objs(), 'PodDisruptionBudget', API).spec.selector.matchLabels, api)).toBe(
      true,
    );
    expect(
      selects(find(objs(), 'PodDisruptionBudget', WORKER).spec.selector.matchLabels, worker),
    ).toBe(true);
    expect(selects(find(objs(), 'Deployment', API).spec.selector.matchLabels, api)).toBe(true);
    const ports = (np: K8sObject, dir: 'ingress' | 'egress') =>
      (np.spec[dir] ?? [])
        .flatMap((r: any) => (r.ports ?? []).map((p: any) => p.port))
        .sort((x: number, y: number) => x - y);
    const npApi = find(objs(), 'NetworkPolicy', API);
    const npWorker = find(objs(), 'NetworkPolicy', WORKER);
    const npMigrate = find(objs(), 'NetworkPolicy', MIGRATE);
    expect(selects(npApi.spec.podSelector.matchLabels, api)).toBe(true);
    expect(selects(npWorker.spec.podSelector.matchLabels, worker)).toBe(true);
    expect(
      selects(
        npMigrate.spec.podSelector.matchLabels,
        find(objs(), 'Job', MIGRATE).spec.template.metadata.labels,
      ),
    ).toBe(true);
    for (const np of [npApi, npWorker, npMigrate])
      expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(ports(npApi, 'ingress')).toEqual([8080]);
    expect(ports(npWorker, 'ingress')).toEqual([9090]);
    expect(ports(npMigrate, 'ingress')).toEqual([]);
    for (const np of [npApi, npWorker])
      expect(ports(np, 'egress')).toEqual([53, 53, 443, 445, 5432]);
    expect(ports(npMigrate, 'egress')).toEqual([53, 53, 5432]);
    const sm = objs().find((o) => o.kind === 'ServiceMonitor');
    if (sm) {
      const svc = find(objs(), 'Service', `${WORKER}-metrics`);
      expect(selects(sm.spec.selector.matchLabels, svc.metadata.labels)).toBe(true);
      expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(
        sm.spec.endpoints[0].port,
      );
      expect(sm.spec.endpoints[0].path).toBe('/metrics');
    }
    const ing = objs().find((o) => o.kind === 'Ingress');
    if (ing) expect(ing.spec.rules[0].http.paths[0].backend.service.name).toBe(API);
  });
});

describe('deploy/kubernetes variants', () => {
  it('production: namespace with the restricted Pod Security Standard, KEDA, an existing secret', () => {
    const objs = rendered.production!;
    const ns = find(objs, 'Namespace', 'scaidrive');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of objs.filter((x) => x.kind !== 'Namespace'))
      expect(o.metadata.namespace).toBe('scaidrive');
    expect(objs.some((o) => o.kind === 'ScaledObject')).toBe(true);
    expect(objs.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
    const env = effectiveEnv(objs, mainContainer(find(objs, 'Deployment', WORKER)));
    expect(env.secretRefs.get('DATABASE_URL')?.name).toBe('scaidrive-connectors-prod');
    expect(mainContainer(find(objs, 'Deployment', API)).image).toMatch(/^registry\.example\.com\//);
  });

  it('blob-pvc: chunks on a shared RWX volume mounted by API and workers', () => {
    const objs = rendered['base+blob-pvc']!;
    expect(
      find(objs, 'PersistentVolumeClaim', 'scaidrive-connectors-blobs').spec.accessModes,
    ).toEqual(['ReadWriteMany']);
    for (const name of [API, WORKER]) {
      const d = find(objs, 'Deployment', name);
      const env = effectiveEnv(objs, mainContainer(d)).values;
      expect([env.get('BLOB_DRIVER'), env.get('BLOB_DIR')]).toEqual(['local', '/data/blobs']);
      expect(mainContainer(d).volumeMounts).toContainEqual({
        name: 'blobs',
        mountPath: '/data/blobs',
      });
    }
  });

  it('default: S3 blobs (several workers share chunks) and the CPU HPA', () => {
    const objs = rendered.default!;
    const env = effectiveEnv(objs, mainContainer(find(objs, 'Deployment', WORKER))).values;
    expect(env.get('BLOB_DRIVER')).toBe('s3');
    expect(objs.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(true);
  });

  it('the strict layer catches a misspelt field', () => {
    const objs = structuredClone(rendered.default!);
    const d = find(objs, 'Deployment', API);
    mainContainer(d).securityContext.readOnlyRootFileSystem = true;
    expect(strictErrors([d]).join('\n')).toMatch(/readOnlyRootFileSystem/);
  });

  it('the schema layer catches a wrong type', async () => {
    const objs = structuredClone(rendered.default!);
    const d = find(objs, 'Deployment', API);
    mainContainer(d).ports[0].containerPort = 'http';
    expect((await schemaErrors([d])).join('\n')).toMatch(/containerPort/);
  });
});
