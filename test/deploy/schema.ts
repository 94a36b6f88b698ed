import path from 'node:path';
import ts from 'typescript';
import type { K8sObject } from './support.js';
import { repoRoot } from './support.js';

/**
 * Schema validation of rendered manifests against the Kubernetes API, from the npm package
 * `kubernetes-models` (validators generated from the Kubernetes OpenAPI document; 5.1.0 carries the
 * 1.34 API) plus `@kubernetes-models/keda` and `@kubernetes-models/prometheus-operator` for the CRDs.
 * Two layers:
 *  - the package's JSON-schema validators (types, enums, formats, required fields);
 *  - a strict layer like `kubeconform -strict`: the object is type-checked by TypeScript against the
 *    package's interfaces, so an unknown or misspelt field ("readOnlyRootFileSystem") fails.
 */
interface KindInfo {
  module: string;
  name: string;
}

/** Target: Kubernetes ≥ 1.29 (every API below is GA there), KEDA ≥ 2.12, Prometheus Operator v1. */
export const SUPPORTED: Record<string, KindInfo> = {
  'v1/ConfigMap': { module: 'kubernetes-models/v1', name: 'ConfigMap' },
  'v1/Secret': { module: 'kubernetes-models/v1', name: 'Secret' },
  'v1/Service': { module: 'kubernetes-models/v1', name: 'Service' },
  'v1/ServiceAccount': { module: 'kubernetes-models/v1', name: 'ServiceAccount' },
  'v1/Namespace': { module: 'kubernetes-models/v1', name: 'Namespace' },
  'v1/PersistentVolumeClaim': { module: 'kubernetes-models/v1', name: 'PersistentVolumeClaim' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1', name: 'Deployment' },
  'batch/v1/Job': { module: 'kubernetes-models/batch/v1', name: 'Job' },
  'policy/v1/PodDisruptionBudget': {
    module: 'kubernetes-models/policy/v1',
    name: 'PodDisruptionBudget',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    module: 'kubernetes-models/networking.k8s.io/v1',
    name: 'NetworkPolicy',
  },
  'networking.k8s.io/v1/Ingress': {
    module: 'kubernetes-models/networking.k8s.io/v1',
    name: 'Ingress',
  },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    module: 'kubernetes-models/autoscaling/v2',
    name: 'HorizontalPodAutoscaler',
  },
  'keda.sh/v1alpha1/ScaledObject': {
    module: '@kubernetes-models/keda/keda.sh/v1alpha1',
    name: 'ScaledObject',
  },
  'keda.sh/v1alpha1/TriggerAuthentication': {
    module: '@kubernetes-models/keda/keda.sh/v1alpha1',
    name: 'TriggerAuthentication',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
    name: 'ServiceMonitor',
  },
};

const key = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;

/** JSON-schema layer: returns one message per invalid object. */
export async function schemaErrors(objs: K8sObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objs) {
    const info = SUPPORTED[key(o)];
    if (!info) {
      errors.push(`${key(o)} ${o.metadata?.name}: not an API of the target versions`);
      continue;
    }
    const mod = (await import(info.module)) as Record<
      string,
      new (d: unknown) => { validate(): void }
    >;
    try {
      new mod[info.name]!(o).validate();
    } catch (err) {
      errors.push(`${key(o)} ${o.metadata?.name}: ${(err as Error).message}`);
    }
  }
  return errors;
}

/** Strict layer for several renders at once (one TypeScript program): errors by render name. */
export function strictErrorsByRender(
  renders: Record<string, K8sObject[]>,
): Record<string, string[]> {
  const all: K8sObject[] = [];
  const owner: string[] = [];
  for (const [name, objs] of Object.entries(renders))
    for (const o of objs) {
      all.push(o);
      owner.push(name);
    }
  const out: Record<string, string[]> = Object.fromEntries(
    Object.keys(renders).map((n) => [n, []]),
  );
  for (const e of strictErrors(all)) {
    const i = Number(/^#(\d+) /.exec(e)?.[1]);
    out[owner[i] ?? Object.keys(renders)[0]!]!.push(e.replace(/^#\d+ /, ''));
  }
  return out;
}

/** Strict layer: TypeScript excess-property and type checks against the same models. */
export function strictErrors(objs: K8sObject[]): string[] {
  const file = path.join(repoRoot, 'test', 'deploy', '__rendered__.mts');
  const imports = new Map<string, Set<string>>();
  const lines: string[] = [];
  objs.forEach((o, i) => {
    const info = SUPPORTED[key(o)];
    if (!info) return;
    if (!imports.has(info.module)) imports.set(info.module, new Set());
    imports.get(info.module)!.add(`I${info.name}`);
    lines.push(`// #${i} ${key(o)} ${o.metadata?.name}`);
    lines.push(`export const o${i}: I${info.name} = ${JSON.stringify(o, null, 1)};`);
  });
  const source = [
    ...[...imports].map(([m, names]) => `import type { ${[...names].join(', ')} } from '${m}';`),
    ...lines,
  ].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => (path.resolve(f) === file ? source : readFile(f));
  host.fileExists = (f) => path.resolve(f) === file || fileExists(f);
  host.getSourceFile = (f, lang, ...rest) =>
    path.resolve(f) === file
      ? ts.createSourceFile(f, source, lang, true)
      : getSourceFile(f, lang, ...rest);
  const program = ts.createProgram([file], options, host);
  const sf = program.getSourceFile(file)!;
  const srcLines = source.split('\n');
  return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].map(
    (d) => {
      const { line } = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0) : { line: 0 };
      // Name the object: the nearest comment line above the error.
      let j = line;
      while (j > 0 && !srcLines[j]!.startsWith('// ')) j--;
      return `${srcLines[j]?.slice(3) ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    },
  );
}
