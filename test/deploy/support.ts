import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const k8sDir = path.join(repoRoot, 'deploy', 'kubernetes');

/** A Kubernetes object as rendered (loosely typed: tests walk it). */

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: any;
  spec?: any;
  data?: any;
  [k: string]: any;
};

/**
 * The Kustomize renderer: a standalone `kustomize` (KUSTOMIZE_BIN or on PATH) or the one built into
 * kubectl (≥ 1.14) — the same command users run (`kubectl apply -k`).
 */
function renderer(): { cmd: string; args: (dir: string) => string[] } {
  const explicit = process.env.KUSTOMIZE_BIN;
  if (explicit) return { cmd: explicit, args: (d) => ['build', d] };
  const probe = (cmd: string, args: string[]) =>
    spawnSync(cmd, args, { encoding: 'utf8' }).status === 0;
  if (probe('kustomize', ['version'])) return { cmd: 'kustomize', args: (d) => ['build', d] };
  if (probe('kubectl', ['kustomize', '--help']))
    return { cmd: 'kubectl', args: (d) => ['kustomize', d] };
  throw new Error(
    'test/deploy needs Kustomize to render deploy/kubernetes: install kubectl (it has kustomize built in) ' +
      'or a standalone kustomize binary (PATH or KUSTOMIZE_BIN). On Debian: apt-get install kubectl ' +
      '(Kubernetes apt repository) — see deploy/README.md "Checks".',
  );
}

export function kustomize(dir: string): K8sObject[] {
  const r = renderer();
  const out = spawnSync(r.cmd, r.args(dir), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`${r.cmd} ${r.args(dir).join(' ')} failed:\n${out.stderr}`);
  return YAML.parseAllDocuments(out.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** Renders the base plus the given components through a temporary kustomization. */
export function renderWithComponents(components: string[]): K8sObject[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'scaidrive-kustomize-'));
  try {
    const sub = path.join(dir, 'variant');
    mkdirSync(sub);
    const rel = (p: string) => path.relative(sub, path.join(k8sDir, p));
    writeFileSync(
      path.join(sub, 'kustomization.yaml'),
      YAML.stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: [rel('base')],
        components: components.map((c) => rel(`components/${c}`)),
      }),
    );
    return kustomize(sub);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function find(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in the rendered output`);
  return o;
}

export const WORKLOAD_KINDS = new Set(['Deployment', 'Job', 'StatefulSet', 'DaemonSet']);

export function podSpec(o: K8sObject): any {
  return o.spec.template.spec;
}

/** The environment a container sees: ConfigMap envFrom first, then `env` (which wins), by name. */
export function effectiveEnv(
  objs: K8sObject[],

  container: any,
): {
  values: Map<string, string>;
  secretRefs: Map<string, { name: string; key: string; optional: boolean }>;
} {
  const values = new Map<string, string>();
  const secretRefs = new Map<string, { name: string; key: string; optional: boolean }>();
  for (const src of container.envFrom ?? []) {
    if (src.configMapRef) {
      const cm = find(objs, 'ConfigMap', src.configMapRef.name);
      for (const [k, v] of Object.entries(cm.data ?? {})) values.set(k, String(v));
    }
    if (src.secretRef) throw new Error('envFrom secretRef hides which secret keys are used');
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef) {
      values.delete(e.name);
      const r = e.valueFrom.secretKeyRef;
      secretRefs.set(e.name, { name: r.name, key: r.key, optional: r.optional === true });
    } else if (e.value !== undefined) {
      secretRefs.delete(e.name);
      values.set(e.name, String(e.value));
    }
  }
  return { values, secretRefs };
}

export function readText(rel: string): string {
  return readFileSync(path.join(repoRoot, rel), 'utf8');
}
