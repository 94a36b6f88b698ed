// `pnpm api:types`: regenerates apps/api/src/generated/openapi.ts from the OpenAPI files.
// Runs on Node's built-in type stripping; the two modules it loads have no relative imports.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleOpenApi } from '../src/openapi/assemble.ts';
import { GENERATED_TYPES_PATH, generateOpenApiTypes } from '../src/openapi/generate-types.ts';

const apiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(apiDir, GENERATED_TYPES_PATH);
writeFileSync(out, await generateOpenApiTypes(assembleOpenApi()));
process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
