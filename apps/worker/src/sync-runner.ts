import type pg from 'pg';
import { AppError, ErrorCode, type Config, type Logger, type SecretBox } from '@scaidrive/core';
import {
  createFileStateStore,
  decryptConnectorConfig,
  type Connector,
  type PrismaClient,
} from '@scaidrive/db';
import type { Drive } from '@scaidrive/drive';
import {
  runSync,
  summaryError,
  type FileTree,
  type FilterSet,
  type SyncDirection,
  type SyncOptions,
  type ConflictStrategy,
  type SyncSummary,
} from '@scaidrive/sync';
import { createAclMapper } from './acl-mapper.js';
import type { WorkerMetrics } from './metrics.js';
import { withRunSummary, type SyncRunner, type SyncRunResult } from './ports.js';
import type { SourceRegistry, UnmappedGrantSample } from './sources/registry.js';

export interface EngineRunnerDeps {
  prisma: PrismaClient;
  /**
   * Plain node-postgres pool for the file-state store: the engine reads and writes file states in
   * large batches, where raw `pg` is ~3× cheaper per query than Prisma and keeps much less memory.
   */
  statePool?: pg.Pool;
  drive: Drive;
  secrets: SecretBox;
  sources: SourceRegistry;
  config: Config;
  logger: Logger;
  metrics: WorkerMetrics;
}

/** Connector direction enums (`smb_to_scaidrive`, `scaidrive_to_sharepoint`, …) in engine terms. */
export function engineDirection(direction: string): SyncDirection {
  if (direction === 'bidirectional') return 'both';
  if (direction.startsWith('scaidrive_to_')) return 'target_to_source';
  if (direction.endsWith('_to_scaidrive')) return 'source_to_target';
  throw new AppError(ErrorCode.CONFIG_INVALID, `Unknown sync_direction "${direction}"`, {
    action: 'fail_job',
  });
}

function filterSet(json: unknown): FilterSet | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const o = json as { extensions?: unknown; patterns?: unknown };
  const extensions = Array.isArray(o.extensions)
    ? o.extensions.filter((x): x is string => typeof x === 'string')
    : [];
  const patterns = Array.isArray(o.patterns)
    ? o.patterns.filter((x): x is string => typeof x === 'string')
    : [];
  return extensions.length || patterns.length ? { extensions, patterns } : undefined;
}

/**
 * The real `SyncRunner`: the connector's source, its target folder in the share store, its file
 * states, and the engine. Cursors are stored only when a run completed (its file states are
 * committed by then), so a crash replays changes instead of losing them.
 */
export function createEngineRunner(deps: EngineRunnerDeps): SyncRunner {
  return async ({ connector, payload, signal, onProgress }) => {
    const log = deps.logger.child({ job_id: payload.job_id, connector_id: connector.id });
    const cfg = decryptConnectorConfig(connector, deps.secrets);
    if (cfg.kind === 'local' && !deps.config.ENABLE_LOCAL_CONNECTORS) {
      throw new AppError(ErrorCode.CONFIG_INVALID, 'Local connectors are disabled on this worker', {
        action: 'fail_job',
      });
    }
    let source: FileTree | undefined;
    const extras: RunExtras = { throttleWaitMs: 0, unmappedGrants: { count: 0, samples: [] } };
    const state = createFileStateStore(deps.statePool ?? deps.prisma, {
      tenantId: connector.tenantId,
      connectorId: connector.id,
    });
    try {
      source = await deps.sources.create(cfg, {
        state,
        connector,
        prisma: deps.prisma,
        secrets: deps.secrets,
        config: deps.config,
        logger: log,
        signal,
        onThrottle: (ms) => {
          extras.throttleWaitMs += ms;
          deps.metrics.throttleWaitSeconds.inc({ kind: connector.kind }, ms / 1000);
        },
        onUnmappedGrant: (g) => {
          extras.unmappedGrants.count++;
          if (extras.unmappedGrants.samples.length < MAX_GRANT_SAMPLES)
            extras.unmappedGrants.samples.push(g);
        },
      });
      const target = deps.drive.shareTree({
        tenantId: connector.tenantId,
        shareId: connector.targetShareId,
        rootPath: connector.targetPath,
        origin: `connector:${connector.id}`,
        actorUserId: connector.createdBy,
      });
      // target_path is created when it does not exist yet.
      await target.mkdir('', signal);
      const options = await syncOptions(
        deps,
        connector,
        payload.full_sync,
        payload.confirm_deletes,
      );
      const summary = await runSync({
        source,
        target,
        state,
        options,
        signal,
        onProgress: (p) => onProgress(p),
        onEvent: (e) => {
          if (e.type === 'item_error')
            deps.metrics.fileErrors.inc({ kind: connector.kind, code: e.code });
          log.debug('sync event', { event: e });
        },
      });
      return await finish(deps, connector, summary, extras);
    } finally {
      await source?.close().catch(() => undefined);
    }
  };
}

async function syncOptions(
  deps: EngineRunnerDeps,
  connector: Connector,
  fullSyncRequested: boolean,
  confirmDeletes: boolean,
): Promise<SyncOptions> {
  const include = filterSet(connector.includePatterns);
  const exclude = filterSet(connector.excludePatterns);
  const options: SyncOptions = {
    direction: engineDirection(connector.syncDirection),
    conflictResolution: connector.conflictResolution as ConflictStrategy,
    filters: { ...(include ? { include } : {}), ...(exclude ? { exclude } : {}) },
    syncHidden: connector.kind === 'sharepoint' ? true : (connector.syncHiddenFiles ?? false),
    syncSystem: connector.syncSystemFiles ?? false,
    fullSync: fullSyncRequested || connector.fullSyncRequired,
    confirmDeletes,
    transferConcurrency: deps.config.TRANSFER_CONCURRENCY,
    cursors: {
      source: connector.fullSyncRequired ? null : connector.sourceCursor,
      target:
        connector.fullSyncRequired || connector.targetCursor === null
          ? null
          : String(connector.targetCursor),
    },
    syncMetadata: connector.syncMetadata ?? false,
    syncVersions: connector.syncVersions ?? false,
  };
  if (connector.syncPermissions) {
    const mappings = await deps.prisma.identityMapping.findMany({
      where: { tenantId: connector.tenantId, connectorId: connector.id },
    });
    options.syncPermissions = true;
    options.mapAcl = createAclMapper(mappings);
  }
  return options;
}

async function finish(
  deps: EngineRunnerDeps,
  connector: Connector,
  summary: SyncSummary,
  extras: RunExtras,
): Promise<SyncRunResult> {
  const stored = jsonSafe({ ...summary, ...extras });
  const p = summary.progress;
  const progress = {
    filesScanned: p.filesScanned,
    filesSynced: p.filesSynced,
    bytesTransferred: p.bytesTransferred,
    errorCount: p.errorCount,
    conflicts: p.conflicts,
    deletes: p.deletes,
  };
  if (summary.status === 'failed') {
    throw withRunSummary(
      summaryError(summary) ?? new AppError(ErrorCode.INTERNAL, summary.message),
      stored,
    );
  }
  if (summary.status === 'completed') {
    // Only for the configuration this run synced: after a change (another site, drive, base path,
    // host) the old cursor would make the next run incremental against the wrong place.
    await deps.prisma.connector.updateMany({
      where: {
        id: connector.id,
        tenantId: connector.tenantId,
        configRevision: connector.configRevision,
      },
      data: {
        ...(summary.cursors.source !== undefined ? { sourceCursor: summary.cursors.source } : {}),
        ...(summary.cursors.target !== undefined
          ? { targetCursor: BigInt(summary.cursors.target) }
          : {}),
      },
    });
  }
  return {
    progress,
    message: summary.message,
    summary: stored,
    interrupted: summary.status === 'cancelled',
  };
}

/** What the worker adds to the engine's summary of a run. */
interface RunExtras {
  /** Milliseconds the source waited on throttling (Retry-After, shared pacer back-off). */
  throttleWaitMs: number;
  /** Source permissions no identity mapping can express (SharePoint sharing links and groups). */
  unmappedGrants: { count: number; samples: UnmappedGrantSample[] };
}

const MAX_GRANT_SAMPLES = 50;

/** The summary as jsonb takes it: bigints as strings, unpaired surrogates of foreign names as U+FFFD. */
function jsonSafe(summary: SyncSummary & RunExtras): unknown {
  return JSON.parse(
    JSON.stringify(summary, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? v.toWellFormed() : v,
    ),
  );
}
