import { Prisma, type Connector, type PrismaClient } from '@scaidrive/db';

/**
 * Hot-path reads of connectors in plain SQL. A Prisma model query costs several milliseconds of
 * query-compiler CPU here against well under one for raw SQL, and GET one / GET list run on every
 * operator poll. Column names map to the Prisma fields by snake_case → camelCase (schema convention).
 */
export function camelRow<T>(row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row))
    out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out as T;
}

export async function findConnector(
  prisma: PrismaClient,
  where: { id: string; tenantId: string; kind: string },
): Promise<Connector | null> {
  const rows = await prisma.$queryRaw<Record<string, unknown>[]>`
    SELECT * FROM connectors WHERE id = ${where.id} AND tenant_id = ${where.tenantId} AND kind = ${where.kind}`;
  return rows[0] ? camelRow<Connector>(rows[0]) : null;
}

export async function listConnectors(
  prisma: PrismaClient,
  where: {
    tenantId: string;
    kind: string;
    status?: string | undefined;
    shareIds?: string[] | undefined;
  },
  page: { limit: number; offset: number },
): Promise<{ rows: Connector[]; total: number }> {
  const conds = [Prisma.sql`tenant_id = ${where.tenantId}`, Prisma.sql`kind = ${where.kind}`];
  if (where.status) conds.push(Prisma.sql`status = ${where.status}`);
  if (where.shareIds) {
    if (where.shareIds.length === 0) return { rows: [], total: 0 };
    conds.push(Prisma.sql`target_share_id IN (${Prisma.join(where.shareIds)})`);
  }
  const filter = Prisma.join(conds, ' AND ');
  const rows = await prisma.$queryRaw<(Record<string, unknown> & { total__: bigint })[]>`
    SELECT c.*, count(*) OVER () AS total__ FROM connectors c WHERE ${filter}
     ORDER BY created_at, id LIMIT ${page.limit} OFFSET ${page.offset}`;
  let total: number;
  if (rows.length > 0) total = Number(rows[0]!.total__);
  else {
    const r = await prisma.$queryRaw<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM connectors WHERE ${filter}`;
    total = Number(r[0]?.n ?? 0);
  }
  return {
    rows: rows.map(({ total__: _t, ...r }) => camelRow<Connector>(r)),
    total,
  };
}
