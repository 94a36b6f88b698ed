import { NotFoundError } from '@scaidrive/core';
import type { Connector, Prisma, PrismaClient, SyncJob } from '@scaidrive/db';

/** Read side of sync jobs (counters are whatever the worker last flushed: live). */
export class SyncJobQueries {
  constructor(private readonly prisma: PrismaClient) {}

  async list(
    connector: Connector,
    opts: { limit: number; offset: number; status?: string },
  ): Promise<{ rows: Omit<SyncJob, 'summary'>[]; total: number }> {
    const where: Prisma.SyncJobWhereInput = {
      tenantId: connector.tenantId,
      connectorId: connector.id,
      ...(opts.status ? { status: opts.status } : {}),
    };
    const [rows, total] = await Promise.all([
      this.prisma.syncJob.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: opts.limit,
        skip: opts.offset,
        // Lists do not show it, and a summary can be tens of kilobytes.
        omit: { summary: true },
      }),
      this.prisma.syncJob.count({ where }),
    ]);
    return { rows, total };
  }

  async get(connector: Connector, jobId: string): Promise<SyncJob> {
    const job = await this.prisma.syncJob.findFirst({
      where: { id: jobId, tenantId: connector.tenantId, connectorId: connector.id },
    });
    if (!job) throw new NotFoundError('Sync job');
    return job;
  }
}
