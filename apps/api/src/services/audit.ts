import { newId } from '@scaidrive/core';
import type { Tx } from '@scaidrive/db';
import type { Actor } from './actor.js';

export interface AuditEntry {
  /** e.g. `connector.created`, `connector.sync_requested`, `identity_mapping.deleted`. */
  action: string;
  resourceType: 'connector' | 'sync_job' | 'identity_mapping' | 'file_state';
  resourceId: string;
  /** Field names and safe facts only — never secret values. */
  payload?: Record<string, unknown>;
}

/** Appends audit_events rows inside the caller's transaction (category ADMIN). */
export class AuditLog {
  async record(tx: Tx, actor: Actor, entry: AuditEntry): Promise<void> {
    await tx.auditEvent.create({
      data: {
        id: newId('evt'),
        tenantId: actor.principal.tenantId,
        category: 'ADMIN',
        action: entry.action,
        actorId: actor.principal.userId,
        resourceType: entry.resourceType,
        resourceId: entry.resourceId,
        requestId: actor.requestId,
        payload: {
          ...(entry.payload ?? {}),
          via: actor.principal.kind,
          ...(actor.principal.tokenId ? { service_token_id: actor.principal.tokenId } : {}),
        },
      },
    });
  }
}
