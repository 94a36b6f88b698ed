// API benchmark: GET list and GET one at 50 concurrent connections (autocannon), against the real
// composition (Express + auth + OpenAPI validation + Prisma + PostgreSQL). Not part of `pnpm test`.
//
//   pnpm exec tsc -b apps/api && node bench/api/run.mjs [--duration 15] [--connections 50]
//
// Uses BENCH_DATABASE_URL (an admin URL; a scratch database is created and dropped) or the local
// PostgreSQL on 127.0.0.1:5432. Writes bench/results/api-<timestamp>.json and prints a Markdown table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import os from 'node:os';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const requireFromApi = createRequire(path.join(root, 'apps/api/package.json'));
const load = (name) => import(pathToFileURL(requireFromApi.resolve(name)).href);

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    connectors: { type: 'string', default: '200' },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);

const [{ composeApi }, core, db, pgMod] = await Promise.all([
  import(pathToFileURL(path.join(root, 'apps/api/dist/index.js')).href),
  load('@scaidrive/core'),
  load('@scaidrive/db'),
  import(pathToFileURL(createRequire(path.join(root, 'test/package.json')).resolve('pg')).href),
]);
const autocannon = requireFromApi('autocannon');
const pg = pgMod.default;

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const dbName = `scaidrive_bench_${randomBytes(4).toString('hex')}`;
async function admin(sql) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
await admin(`CREATE DATABASE "${dbName}"`);
const u = new URL(adminUrl);
u.pathname = `/${dbName}`;
const url = u.toString();

let api;
try {
  await db.migrate({ connectionString: url, migrationsDir: path.join(root, 'prisma/migrations') });
  const config = core.loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: url,
    SECRET_KEYS: core.generateSecretKeySpec('b1'),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    DATABASE_POOL_SIZE: '10',
  });
  const logger = core.createLogger({ level: 'warn', format: 'json' });
  api = await composeApi({ config, logger, databaseUrl: url, secretKeys: config.secretKeys });
  const prisma = api.prisma;
  // Seed: a tenant, its admin, a share, N connectors.
  const tenantId = core.newId('tnt');
  const userId = core.newId('usr');
  const shareId = core.newId('shr');
  const rootId = core.newId('fld');
  await prisma.tenant.create({ data: { id: tenantId, name: 'Bench' } });
  await prisma.user.create({
    data: { id: userId, tenantId, role: 'tenant_admin', email: 'bench@x.test' },
  });
  await prisma.share.create({ data: { id: shareId, tenantId, name: 'Bench', ownerId: userId } });
  await prisma.node.create({
    data: {
      id: rootId,
      tenantId,
      shareId,
      parentId: null,
      kind: 'folder',
      name: '',
      nameKey: '',
      liveNameKey: '',
    },
  });
  await prisma.share.update({ where: { id: shareId }, data: { rootNodeId: rootId } });
  await prisma.shareMember.create({
    data: {
      id: core.newId('mem'),
      tenantId,
      shareId,
      principalType: 'user',
      principalId: userId,
      role: 'owner',
    },
  });
  const { token } = await api.serviceTokens.issue({ tenantId, userId, name: 'bench' });
  const server = await api.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${server.port}/api/v1/smb-connectors`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  let oneId;
  for (let i = 0; i < Number(values.connectors); i++) {
    const res = await fetch(base, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: `Fileserver ${i}`,
        server_host: '127.0.0.1',
        share_name: `Share${i}`,
        username: 'svc',
        password: 'bench-secret',
        target_share_id: shareId,
        target_path: `/From Fileserver ${i}`,
        include_patterns: { extensions: ['pdf', 'docx'] },
      }),
    });
    if (res.status !== 201) throw new Error(`seed failed: ${res.status} ${await res.text()}`);
    oneId ??= (await res.json()).id;
  }

  const run = (title, target, secs) =>
    new Promise((resolve, reject) => {
      autocannon(
        { url: target, connections, duration: secs, headers, title, workers: 1 },
        (err, r) => (err ? reject(err) : resolve(r)),
      );
    });
  const scenarios = [
    { name: 'GET list (limit=50)', url: `${base}?limit=50` },
    { name: 'GET one', url: `${base}/${oneId}` },
  ];
  if (process.env.BENCH_HEALTH)
    scenarios.unshift({
      name: 'GET health (no auth, no DB)',
      url: base.replace('/smb-connectors', '/health'),
    });
  const results = [];
  for (const s of scenarios) {
    await run(`${s.name} warm-up`, s.url, 3);
    const r = await run(s.name, s.url, duration);
    const non2xx = r.non2xx + r.errors + r.timeouts;
    results.push({
      scenario: s.name,
      connections,
      duration_s: duration,
      requests: r.requests.total,
      req_per_s: Math.round(r.requests.average),
      p50_ms: r.latency.p50,
      p90_ms: r.latency.p90,
      p99_ms: r.latency.p99,
      max_ms: r.latency.max,
      errors: non2xx,
    });
  }
  const out = {
    when: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    connectors_seeded: Number(values.connectors),
    results,
  };
  const dir = path.join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `api-${out.when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2));
  const lines = [
    `| scenario | conns | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |`,
    `|---|---|---|---|---|---|---|---|`,
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.connections} | ${r.req_per_s} | ${r.p50_ms} | ${r.p90_ms} | ${r.p99_ms} | ${r.max_ms} | ${r.errors} |`,
    ),
  ];
  console.log(lines.join('\n'));
  console.log(
    `\n${out.cpus} × ${out.cpu}, Node ${out.node}; written to ${path.relative(root, file)}`,
  );
} finally {
  await api?.shutdown();
  await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
}
process.exit(0);
