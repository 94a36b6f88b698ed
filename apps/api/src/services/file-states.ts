import { ConflictError, NotFoundError } from '@scaidrive/core';
import type { Connector, FileState, Prisma, PrismaClient } from '@scaidrive/db';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit.js';
import type { SyncRequestService } from './sync-requests.js';

export type FileResolution = 'keep_source' | 'keep_target' | 'keep_both';

/** The pending resolution of a MANUAL conflict, kept in the file state's `conflict` document. */
export function resolutionOf(fs: Pick<FileState, 'conflict'>): FileResolution | null {
  const c = fs.conflict as { resolution?: unknown } | null;
  const r = c?.resolution;
  return r === 'keep_source' || r === 'keep_target' || r === 'keep_both' ? r : null;
}

export class FileStateService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly syncRequests: SyncRequestService,
    private readonly audit: AuditLog,
  ) {}

  async list(
    connector: Connector,
    opts: { limit: number; offset: number; status?: string },
  ): Promise<{ rows: FileState[]; total: number }> {
    const where: Prisma.FileStateWhereInput = {
      tenantId: connector.tenantId,
      connectorId: connector.id,
      ...(opts.status ? { status: opts.status } : {}),
    };
    const [rows, total] = await Promise.all([
      this.prisma.fileState.findMany({
        where,
        orderBy: [{ pathKey: 'asc' }],
        take: opts.limit,
        skip: opts.offset,
      }),
      this.prisma.fileState.count({ where }),
    ]);
    return { rows, total };
  }

  /**
   * Records an operator's resolution of a MANUAL conflict: the file state becomes `pending` with
   * `conflict.resolution` set (the engine applies it on the next run), then a sync is requested.
   * When a sync is already queued or running, the resolution waits for the next one.
   */
  async resolve(
    actor: Actor,
    connector: Connector,
    fileStateId: string,
    resolution: FileResolution,
  ): Promise<{ fileState: FileState; jobId: string | null }> {
    const fileState = await this.prisma.$transaction(async (tx) => {
      const fs = await tx.fileState.findFirst({
        where: { id: fileStateId, tenantId: connector.tenantId, connectorId: connector.id },
      });
      if (!fs) throw new NotFoundError('File state');
      if (fs.status !== 'conflict')
        throw new ConflictError(
          `Only a file state in conflict can be resolved (this one is ${fs.status})`,
          {
            details: { status: fs.status },
          },
        );
      const conflict = {
        ...((fs.conflict as Record<string, unknown> | null) ?? {}),
        resolution,
        resolved_by: actor.principal.userId,
        resolved_at: new Date().toISOString(),
      };
      const updated = await tx.fileState.updateMany({
        where: { id: fs.id, status: 'conflict' },
        data: { status: 'pending', conflict },
      });
      if (updated.count === 0)
        throw new ConflictError('The file state changed meanwhile; reload it');
      await this.audit.record(tx, actor, {
        action: 'file_state.resolved',
        resourceType: 'file_state',
        resourceId: fs.id,
        payload: { connector_id: connector.id, resolution },
      });
      return (await tx.fileState.findUnique({ where: { id: fs.id } }))!;
    });
    let jobId: string | null = null;
    if (connector.status !== 'disabled') {
      try {
        jobId = (
          await this.syncRequests.request(actor, connector, {
            fullSync: false,
            confirmDeletes: false,
            reason: 'resolve',
          })
        ).jobId;
      } catch (err) {
        if ((err as { code?: string }).code !== 'CONNECTOR_SYNC_IN_PROGRESS') throw err;
        jobId = await this.syncRequests.activeJobId(connector);
      }
    }
    return { fileState, jobId };
  }
}
