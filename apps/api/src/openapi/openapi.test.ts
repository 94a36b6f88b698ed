import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { assembleOpenApi, defaultOpenApiDir } from './assemble.js';
import { GENERATED_TYPES_PATH, generateOpenApiTypes } from './generate-types.js';
import { pathDocument } from './validator.js';

describe('OpenAPI document', () => {
  it('assembles from apps/api/openapi without duplicates or dangling refs', () => {
    const doc = assembleOpenApi();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).length).toBeGreaterThan(3);
  });

  it('every operation has an operationId, a tag and a default error response', () => {
    const doc = assembleOpenApi();
    const missing: string[] = [];
    for (const [p, item] of Object.entries(doc.paths))
      for (const [m, op] of Object.entries(item) as [string, any][]) {
        if (m === 'parameters') continue;
        if (!op.operationId || !op.tags?.length) missing.push(`${m} ${p}: operationId/tags`);
        if (op.security?.length !== 0 && !op.responses?.default) missing.push(`${m} ${p}: default`);
      }
    expect(missing).toEqual([]);
  });

  it('src/generated/openapi.ts is up to date (run `pnpm api:types`)', async () => {
    const file = path.resolve(defaultOpenApiDir(), '..', GENERATED_TYPES_PATH);
    const expected = await generateOpenApiTypes(assembleOpenApi());
    expect(readFileSync(file, 'utf8')).toBe(expected);
  }, 30_000);
  it('each per-path validator document resolves every $ref it holds, and holds only its own path', () => {
    const doc = assembleOpenApi();
    const refsOf = (v: unknown, out: string[] = []): string[] => {
      if (Array.isArray(v)) v.forEach((x) => refsOf(x, out));
      else if (v && typeof v === 'object')
        for (const [k, c] of Object.entries(v))
          if (k === '$ref' && typeof c === 'string') out.push(c);
          else refsOf(c, out);
      return out;
    };
    const sizes: number[] = [];
    for (const p of Object.keys(doc.paths)) {
      const small = pathDocument(doc, p);
      expect(Object.keys(small.paths)).toEqual([p]);
      const dangling = refsOf(small).filter((ref) => {
        const [, section, name] = /^#\/components\/([^/]+)\/([^/]+)/.exec(ref) ?? [];
        return !section || small.components[section]?.[name!.replace(/~1/g, '/')] === undefined;
      });
      expect({ path: p, dangling }).toEqual({ path: p, dangling: [] });
      sizes.push(Object.keys(small.components.schemas ?? {}).length);
    }
    // Reduced: no path needs every schema of the document.
    expect(Math.min(...sizes)).toBeLessThan(Object.keys(doc.components.schemas ?? {}).length);
  });
});
