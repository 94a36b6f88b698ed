import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { assembleOpenApi } from '@scaidrive/api';
import { createUser, seededRandom } from '@scaidrive/testkit';
import { smbBody, spBody } from './fixtures.js';
import { bearer, startApi, type ApiHarness } from './harness.js';

/**
 * Bad input never gets a 5xx: every operation of the OpenAPI document is sent requests built from
 * its own schemas with one part spoiled (wrong types, hostile strings, huge numbers, unknown fields,
 * ids of other kinds or of nothing), with real resource ids in the path so handlers run past the
 * lookup. Seeded: a failure names the seed, operation and request, and replays the same way.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = Record<string, unknown>;

const SEED = Number(process.env.API_FUZZ_SEED ?? 20261203);
const PER_OPERATION = Number(process.env.API_FUZZ_RUNS ?? 14);

let h: ApiHarness;
let blobDir: string;
const ids: Record<string, string[]> = {};
const tokens: Record<'admin' | 'user' | 'stranger', string> = { admin: '', user: '', stranger: '' };
const doc = assembleOpenApi() as unknown as {
  paths: Record<string, Record<string, Schema>>;
  components: Record<string, Record<string, Schema>>;
};

const HOSTILE_STRINGS = [
  '',
  ' ',
  '../../etc/passwd',
  '..\\..\\windows\\system32',
  '/',
  '//',
  'a'.repeat(5000),
  '\u0000',
  'nul\u0000byte',
  'é'.normalize('NFD'),
  '😀🚀',
  '\ud800',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '%00',
  '%2e%2e%2f',
  'CON',
  'cnn_00000000000000000000000000',
  'usr_01JZZZZZZZZZZZZZZZZZZZZZZZ',
  'tnt_01HZZZZZZZZZZZZZZZZZZZZZZZ',
  '00000000-0000-0000-0000-000000000000',
  '2026-13-45T99:99:99Z',
  '-1',
  '1e309',
  'true',
  'null',
  '{"$ne":null}',
];
const HOSTILE_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 53 + 2,
  -(2 ** 63),
  1e308,
  [],
  [null],
  ['x', 1, null],
  {},
  { __proto__: { admin: true } } as unknown as Json,
  { constructor: { prototype: { polluted: true } } },
  { nested: { deeper: { deepest: ['x'] } } },
];

function resolve(schema: Schema | undefined): Schema | undefined {
  let s = schema;
  for (let i = 0; s && typeof s.$ref === 'string' && i < 10; i++) {
    const [, , kind, name] = (s.$ref as string).split('/');
    s = doc.components[kind!]?.[name!];
  }
  return s;
}

/** A value the schema would mostly accept (enums, formats, bounds), to get past the validator. */
function plausible(schema: Schema | undefined, r: () => number, depth = 0): Json {
  const s = resolve(schema) ?? {};
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  if (Array.isArray(s.enum)) return pick(s.enum as Json[]);
  for (const k of ['oneOf', 'anyOf'] as const)
    if (Array.isArray(s[k])) return plausible(pick(s[k] as Schema[]), r, depth + 1);
  if (Array.isArray(s.allOf)) {
    const out: Record<string, Json> = {};
    for (const part of s.allOf as Schema[]) {
      const v = plausible(part, r, depth + 1);
      if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, v);
    }
    return out;
  }
  const type = Array.isArray(s.type)
    ? pick((s.type as string[]).filter((t) => t !== 'null'))
    : s.type;
  switch (type) {
    case 'object': {
      if (depth > 4) return {};
      const out: Record<string, Json> = {};
      for (const [k, v] of Object.entries((s.properties as Record<string, Schema>) ?? {}))
        if (r() < 0.8 || (s.required as string[] | undefined)?.includes(k))
          out[k] = plausible(v, r, depth + 1);
      return out;
    }
    case 'array':
      return depth > 4 ? [] : [plausible(s.items as Schema, r, depth + 1)];
    case 'integer':
      return Math.floor(
        ((s.minimum as number | undefined) ?? 0) +
          r() * Math.min(100, (s.maximum as number) ?? 100),
      );
    case 'number':
      return r() * 100;
    case 'boolean':
      return r() < 0.5;
    case 'string': {
      if (s.format === 'date-time')
        return new Date(Date.UTC(2026, 0, 1 + Math.floor(r() * 300))).toISOString();
      if (s.format === 'uri') return 'https://contoso.sharepoint.com/sites/Fuzz';
      if (s.format === 'email') return 'fuzz@example.com';
      const pool = [...Object.values(ids).flat(), 'Fuzz name', 'a/b', 'x.txt'];
      return pick(pool);
    }
    default:
      return pick(HOSTILE_STRINGS);
  }
}

function hostile(r: () => number): Json {
  return r() < 0.5
    ? HOSTILE_STRINGS[Math.floor(r() * HOSTILE_STRINGS.length)]!
    : HOSTILE_VALUES[Math.floor(r() * HOSTILE_VALUES.length)]!;
}

/** Spoils one spot of a value: a field's value, a new unknown field, or the whole thing. */
function spoil(value: Json, r: () => number): Json {
  if (value && typeof value === 'object' && !Array.isArray(value) && r() < 0.8) {
    const keys = Object.keys(value);
    const out = { ...value };
    if (keys.length && r() < 0.75) {
      const k = keys[Math.floor(r() * keys.length)]!;
      out[k] = r() < 0.3 ? spoil(out[k]!, r) : hostile(r);
    } else out[r() < 0.5 ? 'unexpected_field' : '__proto__'] = hostile(r);
    return out;
  }
  return hostile(r);
}

function paramValue(name: string, base: string, r: () => number): string {
  const known =
    name === 'connector_id'
      ? ids[base.startsWith('/sharepoint') ? 'sp_connector_id' : 'smb_connector_id']
      : ids[name];
  if (known?.length && r() < 0.7) return known[Math.floor(r() * known.length)]!;
  if (r() < 0.3)
    return Object.values(ids).flat()[Math.floor(r() * Object.values(ids).flat().length)]!;
  return String(hostile(r));
}

beforeAll(async () => {
  blobDir = await mkdtemp(path.join(os.tmpdir(), 'scaidrive-fuzz-'));
  h = await startApi({ BLOB_DIR: blobDir, RATE_LIMIT_PER_MINUTE: '0' });
  const auth = bearer(h.t1.adminToken);
  tokens.admin = h.t1.adminToken;
  tokens.user = await h.token(h.t1.tenantId, (await createUser(h.db.prisma, h.t1.tenantId)).id, {
    scopes: ['files:read', 'files:write'],
  });
  tokens.stranger = (await h.tenant('Stranger')).adminToken;
  const add = (k: string, v: unknown) => {
    if (typeof v === 'string' || typeof v === 'number') (ids[k] ??= []).push(String(v));
  };
  const smb = await h.http.post('/api/v1/smb-connectors').set(auth).send(smbBody(h.t1.shareId));
  add('smb_connector_id', smb.body.id);
  const sp = await h.http
    .post('/api/v1/sharepoint-connectors')
    .set(auth)
    .send(spBody(h.t1.shareId));
  add('sp_connector_id', sp.body.id);
  const job = await h.http.post(`/api/v1/smb-connectors/${smb.body.id}/sync`).set(auth);
  add('job_id', job.body.job_id ?? job.body.id);
  const share = await h.http.get(`/api/v1/shares/${h.t1.shareId}`).set(auth);
  add('share_id', h.t1.shareId);
  add('folder_id', share.body.root_folder_id);
  const folder = await h.http
    .post('/api/v1/folders')
    .set(auth)
    .send({ share_id: h.t1.shareId, name: 'Fuzz folder' });
  add('folder_id', folder.body.id);
  const file = await h.http
    .post(`/api/v1/folders/${folder.body.id}/files`)
    .query({ name: 'fuzz.txt' })
    .set(auth)
    .set('Content-Type', 'application/octet-stream')
    .send(Buffer.from('fuzz'));
  add('file_id', file.body.id);
  add('resource_id', file.body.id);
  add('resource_id', folder.body.id);
  add('version_number', 1);
  add('user_id', h.t1.adminId);
  const group = await h.http.post('/api/v1/groups').set(auth).send({ name: 'Fuzzers' });
  add('group_id', group.body.id);
  const mapping = await h.http
    .post(`/api/v1/smb-connectors/${smb.body.id}/identity-mappings`)
    .set(auth)
    .send({ source_principal: 'CORP\\fuzz', scaidrive_user_id: h.t1.adminId });
  add('mapping_id', mapping.body.id);
  add('resource_type', 'file');
  add('resource_type', 'folder');
}, 120_000);

afterAll(async () => {
  await h?.close();
  if (blobDir) await rm(blobDir, { recursive: true, force: true });
});

describe('API fuzz: bad input is a 4xx with the error envelope, never a 5xx', () => {
  const operations = Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map(([m, op]) => ({ method: m, path: p, op })),
  );

  it(`covers every operation (${operations.length})`, () => {
    expect(operations.length).toBeGreaterThan(60);
  });

  it.each(operations.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o] as const))(
    '%s',
    async (_name, { method, path: template, op }) => {
      const r = seededRandom(SEED ^ hashOf(`${method} ${template}`));
      const params = ((op.parameters as Schema[] | undefined) ?? []).map((p) => resolve(p)!);
      const content = (resolve(op.requestBody as Schema)?.content ?? {}) as Record<string, Schema>;
      const jsonSchema = content['application/json']?.schema as Schema | undefined;
      for (let run = 0; run < PER_OPERATION; run++) {
        // Mostly the tenant admin (to reach deep), sometimes a plain user of the same tenant or
        // the admin of another tenant (who must never succeed on this tenant's resources).
        const caller = r() < 0.6 ? 'admin' : r() < 0.5 ? 'user' : 'stranger';
        const auth = bearer(tokens[caller]);
        const url = template.replace(/\{(\w+)\}/g, (_m, name: string) =>
          encodePathPart(paramValue(name, template, r)),
        );
        const query: Record<string, string> = {};
        for (const p of params.filter((x) => x.in === 'query'))
          if (r() < 0.6)
            query[p.name as string] =
              r() < 0.5 ? String(plausible(p.schema as Schema, r)) : String(hostile(r));
        let req = h.http[method as 'get'](`/api/v1${url}`).set(auth).query(query);
        let sent: unknown = undefined;
        if (jsonSchema) {
          const base = plausible(jsonSchema, r);
          sent = r() < 0.15 ? base : spoil(base, r);
          if (r() < 0.1) req = req.set('Content-Type', 'application/json').send('{"broken": ');
          else req = req.set('Content-Type', 'application/json').send(JSON.stringify(sent));
        } else if (content['text/csv']) {
          req = req
            .set('Content-Type', 'text/csv')
            .send(
              `source_principal,scaidrive_user_id\n${String(hostile(r))},${String(hostile(r))}\n`,
            );
        } else if (content['application/octet-stream']) {
          req = req
            .set('Content-Type', 'application/octet-stream')
            .send(Buffer.from(String(hostile(r))));
        }
        const res = await req;
        const context = {
          seed: SEED,
          run,
          caller,
          method,
          url,
          query,
          body: sent,
          status: res.status,
          response: res.body,
        };
        const serverError = res.status >= 500 && res.status !== 501 && res.status !== 503;
        expect(serverError ? JSON.stringify(context) : 'no 5xx').toBe('no 5xx');
        const ownIds = Object.values(ids)
          .flat()
          .filter((id) => /^[a-z]{3}_/.test(id));
        const crossTenant =
          caller === 'stranger' && res.status < 300 && ownIds.some((id) => url.includes(id));
        expect(crossTenant ? JSON.stringify(context) : 'isolated').toBe('isolated');
        if (res.status >= 400) {
          const envelope =
            res.body?.status === 'error' && typeof res.body?.error?.code === 'string';
          expect(envelope ? 'envelope' : JSON.stringify(context)).toBe('envelope');
        }
      }
    },
    60_000,
  );

  it('logged no failed request and no secret', () => {
    const failed = h.logs.lines.filter((l) => l.includes('"request failed"'));
    expect(failed).toEqual([]);
    expect(h.logs.text()).not.toContain('S3cr3t-Pa55word!');
  });
});

describe('text PostgreSQL cannot store', () => {
  it('is refused with the field and the reason: NUL characters and lone surrogates', async () => {
    const auth = bearer(h.t1.adminToken);
    const nul = await h.http.get('/api/v1/users').query({ q: 'a\u0000b' }).set(auth);
    expect(nul.status).toBe(400);
    expect(nul.body.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: [{ path: 'query.q', reason: 'must not contain NUL characters' }],
    });
    const surrogate = await h.http
      .post('/api/v1/folders')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"share_id":"' + h.t1.shareId + '","name":"bad \\ud800 name"}');
    expect(surrogate.status).toBe(400);
    expect(surrogate.body.error.details).toEqual([
      { path: 'body.name', reason: 'is not valid Unicode (lone surrogate)' },
    ]);
    const csv = await h.http
      .post(`/api/v1/smb-connectors/${ids.smb_connector_id![0]}/identity-mappings/import`)
      .set(auth)
      .set('Content-Type', 'text/csv')
      .send('source_principal,scaidrive_user_id\nCORP\\x\u0000,usr_x\n');
    expect(csv.status).toBe(400);
    expect(csv.body.error.details).toEqual([
      { path: 'body', reason: 'must not contain NUL characters' },
    ]);
    const inPath = await h.http.get('/api/v1/files/fil_%00').set(auth);
    expect(inPath.status).toBe(400);
    expect(inPath.body.error.details).toEqual([
      { path: 'path', reason: 'must not contain NUL characters' },
    ]);
    // Nothing was created on the way: no folder whose name was silently turned into U+FFFD. (A
    // client may send U+FFFD itself — e.g. a URL encoder replacing a lone surrogate — which is a
    // valid character; so this looks for this request's folder only.)
    const mangled = await h.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM nodes WHERE name = $1`,
      'bad \ufffd name',
    );
    expect(mangled[0]!.n).toBe(0n);
  });
});

function hashOf(s: string): number {
  let x = 2166136261;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 16777619);
  return x >>> 0;
}

/** Percent-encodes; a lone surrogate becomes the invalid UTF-8 bytes a hostile client could send. */
function encodePathPart(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return '%ED%A0%80';
  }
}
