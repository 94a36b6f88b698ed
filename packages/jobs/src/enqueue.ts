import { newId } from '@scaidrive/core';
import type { Prisma, Tx } from '@scaidrive/db';
import { fromPrisma, type PgBoss } from 'pg-boss';
import { QUEUE_CONNECTOR_SYNC, syncSendOptions, type SyncJobPayload } from './catalogue.js';

export interface EnqueueSyncInput {
  tenantId: string;
  connectorId: string;
  fullSync: boolean;
  confirmDeletes: boolean;
  trigger: SyncJobPayload['trigger'];
  createdBy?: string | null;
  createdAt?: Date;
}

export interface EnqueuedSync {
  jobId: string;
  queueJobId: string;
}

/**
 * Records a sync job and sends its queue job inside the caller's transaction (both or neither).
 * Returns null when a sync of the connector is already queued or running: the queue's `exclusive`
 * policy (singletonKey = connector id, a unique index) makes exactly one of concurrent senders win,
 * across every API pod and scheduler.
 */
export async function enqueueSync(
  tx: Tx,
  boss: PgBoss,
  input: EnqueueSyncInput,
): Promise<EnqueuedSync | null> {
  const jobId = newId('job');
  const payload: SyncJobPayload = {
    job_id: jobId,
    tenant_id: input.tenantId,
    connector_id: input.connectorId,
    full_sync: input.fullSync,
    trigger: input.trigger,
    confirm_deletes: input.confirmDeletes,
    continuation: 0,
  };
  const queueJobId = await boss.send(QUEUE_CONNECTOR_SYNC, payload, {
    ...syncSendOptions(input.connectorId),
    db: fromPrisma(tx),
  });
  if (!queueJobId) return null;
  await tx.syncJob.create({
    data: {
      id: jobId,
      tenantId: input.tenantId,
      connectorId: input.connectorId,
      status: 'queued',
      trigger: input.trigger,
      fullSync: input.fullSync,
      confirmDeletes: input.confirmDeletes,
      queueJobId,
      createdBy: input.createdBy ?? null,
      ...(input.createdAt ? { createdAt: input.createdAt } : {}),
    },
  });
  return { jobId, queueJobId };
}

/**
 * Locks a connector's row (`FOR UPDATE`) and returns its status (none: it is gone). Every
 * transaction that touches a connector together with its jobs or queue job — enqueueing (API,
 * scheduler), a run starting, finishing, retrying or handing over, the reconciler — takes this
 * lock first: one lock order, so they cannot deadlock each other. Lazy, like any Prisma query: it
 * also fits an array `$transaction`.
 */
export function lockConnector(
  db: Pick<Tx, '$queryRaw'>,
  connector: { id: string; tenantId: string },
): Prisma.PrismaPromise<{ status: string }[]> {
  return db.$queryRaw<{ status: string }[]>`
    SELECT status FROM connectors
     WHERE id = ${connector.id} AND tenant_id = ${connector.tenantId}
     FOR UPDATE`;
}
