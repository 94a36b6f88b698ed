import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { assembleOpenApi, defaultOpenApiDir } from './assemble.js';
import { GENERATED_TYPES_PATH, generateOpenApiTypes } from './generate-types.js';

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
});
