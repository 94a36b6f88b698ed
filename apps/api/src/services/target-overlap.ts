import { ConflictError, pathKey } from '@scaidrive/core';
import type { Prisma } from '@scaidrive/db';

/**
 * Two connectors whose target folders in one share are the same, or one inside the other, would
 * each see the other's files as their own: copied back to their source (two-way), overwritten in
 * turn run after run (one-way, a new version each time), or deleted when the other removes them.
 * rclone refuses overlapping remotes for the same reason. Checked under a per-share transaction
 * lock, so two concurrent creates cannot both pass.
 */
export async function assertTargetFree(
  tx: Prisma.TransactionClient,
  target: { tenantId: string; shareId: string; path: string; exceptId?: string },
): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`connector-target:${target.shareId}`}, 0))`;
  const others = await tx.connector.findMany({
    where: {
      tenantId: target.tenantId,
      targetShareId: target.shareId,
      ...(target.exceptId ? { id: { not: target.exceptId } } : {}),
    },
    select: { id: true, name: true, targetPath: true },
    orderBy: { id: 'asc' },
  });
  const clash = others.find((o) => overlaps(pathKey(o.targetPath), pathKey(target.path)));
  if (clash)
    throw new ConflictError(
      `target_path "${target.path}" overlaps the target "${clash.targetPath}" of connector ` +
        `"${clash.name}" (${clash.id}) in the same share: connectors need folders of their own, ` +
        `neither inside the other`,
      {
        details: {
          field: 'body.target_path',
          connector_id: clash.id,
          target_path: clash.targetPath,
        },
      },
    );
}

/** Whether two share-relative path keys are the same folder or one contains the other. */
export function overlaps(a: string, b: string): boolean {
  return a === b || a === '' || b === '' || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}
