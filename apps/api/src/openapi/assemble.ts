import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

/**
 * Builds the OpenAPI document from `apps/api/openapi/`: the root `openapi.yaml`, then every `*.yaml`
 * under `components/` and `paths/` (sorted by path), each contributing `paths`, `components.*` and
 * `tags`. A key defined twice is an error naming both files, and so is a `$ref` to nothing.
 *
 * A file may start with `x-expand: [{NAME: value, ...}, ...]`: its text is then instantiated once per
 * entry, with every `__NAME__` replaced by the value (used for the endpoints both connector kinds
 * share). Other top-level `x-…` keys are ignored (handy for YAML anchors merged with `<<: *name`).
 * This module imports nothing relative, so `node scripts/*.ts` can load it directly.
 */
export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
  tags?: { name: string; description?: string }[];
};

export function defaultOpenApiDir(): string {
  // src/openapi/assemble.ts and dist/openapi/assemble.js both sit two levels below apps/api.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'openapi');
}

export function assembleOpenApi(dir: string = defaultOpenApiDir()): OpenApiDocument {
  const rootFile = path.join(dir, 'openapi.yaml');
  const doc = YAML.parse(readFileSync(rootFile, 'utf8')) as OpenApiDocument;
  doc.paths ??= {};
  doc.components ??= {};
  doc.tags ??= [];
  const owners = new Map<string, string>();
  const rel = (f: string) => path.relative(dir, f);
  for (const [k] of Object.entries(doc.paths)) owners.set(`paths ${k}`, rel(rootFile));
  for (const [section, entries] of Object.entries(doc.components))
    for (const k of Object.keys(entries ?? {}))
      owners.set(`components.${section} ${k}`, rel(rootFile));
  for (const t of doc.tags) owners.set(`tags ${t.name}`, rel(rootFile));

  const files = ['components', 'paths'].flatMap((sub) => listYaml(path.join(dir, sub)));
  for (const file of files) {
    for (const fragment of instantiate(readFileSync(file, 'utf8'), rel(file))) {
      const { paths, components, tags, ...rest } = fragment;
      const unknown = Object.keys(rest).filter((k) => !k.startsWith('x-'));
      if (unknown.length > 0)
        throw new Error(`${rel(file)}: unexpected top-level key(s) ${unknown.join(', ')}`);
      for (const [p, item] of Object.entries((paths ?? {}) as Record<string, unknown>)) {
        claim(owners, `paths ${p}`, rel(file));
        doc.paths[p] = item as Record<string, unknown>;
      }
      for (const [section, entries] of Object.entries(
        (components ?? {}) as Record<string, Record<string, unknown>>,
      )) {
        doc.components[section] ??= {};
        for (const [k, v] of Object.entries(entries ?? {})) {
          claim(owners, `components.${section} ${k}`, rel(file));
          doc.components[section][k] = v;
        }
      }
      for (const t of (tags ?? []) as { name: string }[]) {
        claim(owners, `tags ${t.name}`, rel(file));
        doc.tags.push(t);
      }
    }
  }
  checkRefs(doc);
  checkOperationIds(doc);
  return doc;
}

function listYaml(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.sort().flatMap((n) => {
    const full = path.join(dir, n);
    if (statSync(full).isDirectory()) return listYaml(full);
    return /\.ya?ml$/.test(n) ? [full] : [];
  });
}

function instantiate(text: string, name: string): Record<string, unknown>[] {
  const parsed = (YAML.parse(text, { merge: true }) ?? {}) as Record<string, unknown>;
  const expand = parsed['x-expand'];
  if (expand === undefined) return [parsed];
  if (!Array.isArray(expand)) throw new Error(`${name}: x-expand must be a list of variable maps`);
  return expand.map((vars: Record<string, string>) => {
    let out = text;
    for (const [k, v] of Object.entries(vars)) out = out.split(`__${k}__`).join(String(v));
    const leftover = /__([A-Z][A-Z0-9_]*)__/.exec(out);
    if (leftover) throw new Error(`${name}: placeholder __${leftover[1]}__ has no value`);
    return YAML.parse(out, { merge: true }) as Record<string, unknown>;
  });
}

function claim(owners: Map<string, string>, key: string, file: string): void {
  const prev = owners.get(key);
  if (prev) throw new Error(`OpenAPI: ${key} is defined in both ${prev} and ${file}`);
  owners.set(key, file);
}

function checkRefs(doc: OpenApiDocument): void {
  const missing = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      if (k === '$ref' && typeof child === 'string') {
        if (!resolvePointer(doc, child)) missing.add(child);
      } else walk(child);
    }
  };
  walk(doc);
  if (missing.size > 0) throw new Error(`OpenAPI: unresolved $ref ${[...missing].join(', ')}`);
}

function checkOperationIds(doc: OpenApiDocument): void {
  const seen = new Map<string, string>();
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = (op as { operationId?: string }).operationId;
      if (!id) continue;
      const where = `${method.toUpperCase()} ${p}`;
      if (seen.has(id))
        throw new Error(`OpenAPI: operationId ${id} used by ${seen.get(id)} and ${where}`);
      seen.set(id, where);
    }
  }
}

/** Resolves a local `#/a/b` reference, or undefined. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let cur: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!cur || typeof cur !== 'object' || !(key in cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Operations marked `security: []` — reachable without a token. Paths include the server prefix. */
export function publicOperations(doc: OpenApiDocument, basePath: string): Set<string> {
  const out = new Set<string>();
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const sec = (op as { security?: unknown[] }).security;
      if (Array.isArray(sec) && sec.length === 0)
        out.add(`${method.toUpperCase()} ${basePath}${p}`);
    }
  }
  return out;
}
