import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import {
  AppError,
  ErrorCode,
  ItemError,
  baseName,
  joinPath,
  parentPath,
  splitPath,
} from '@scaidrive/core';
import type {
  AclSnapshot,
  ChangePage,
  DeleteOptions,
  Entry,
  FileTree,
  ReadResult,
  RelPath,
  StateStore,
  TreeCapabilities,
  VersionInfo,
  WriteOptions,
} from '@scaidrive/sync';
import { SharePointAuth, type SharePointAuthConfig } from './auth.js';
import { SpContext } from './context.js';
import { DeltaReader, DELTA_PAGE_SIZE } from './delta.js';
import { openDownload } from './download.js';
import { graphError, readGraphFailure } from './errors.js';
import { GraphApi, type TokenSource } from './graph-client.js';
import { toEntry, type DriveItem, type Page } from './items.js';
import { resolveLocation, type LocationInput, type SharePointLocation } from './location.js';
import { userFields } from './metadata.js';
import { isOfficeDocument, sharePointNameProblem } from './names.js';
import {
  defaultPacers,
  type Pacer,
  type PacerOptions,
  type PacerRegistry,
  type ThrottleEvent,
} from './pacer.js';
import { mapPermissions, type GraphPermission, type UnmappedGrant } from './permissions.js';
import { Transport } from './transport.js';
import { uploadFile } from './upload.js';
import { CONNECTOR_VERSION } from './version.js';

export interface SharePointSourceConfig extends LocationInput {
  auth: Omit<SharePointAuthConfig, 'graphBaseUrl'>;
  /** Graph root, e.g. `https://graph.microsoft.com` (config GRAPH_BASE_URL). */
  graphBaseUrl: string;
  syncVersions?: boolean;
  syncMetadata?: boolean;
  /** Largest upload-session fragment (multiple of 320 KiB; default 10 MiB). */
  fragmentSize?: number;
}

export interface SharePointSourceDeps {
  /** The engine's base for this connector: delta paths are rebuilt from item ids through it. */
  stateStore?: StateStore;
  /** Shared pacers (default: the process-wide registry): one per Entra tenant + app. */
  pacers?: PacerRegistry;
  pacerOptions?: PacerOptions;
  /** A token source to use instead of building MSAL from `config.auth` (tests, shared auth). */
  tokens?: TokenSource;
  userAgent?: string;
}

export interface SharePointSourceEvents {
  throttle: [ThrottleEvent];
  /** Milliseconds a call of this source waited because the shared pacer was told to back off. */
  wait: [number];
  /** A permission that is not mapped (sharing link, SharePoint group). */
  unmappedGrant: [{ path: string } & UnmappedGrant];
  /** A file SharePoint changed after upload (Office property promotion): its new fingerprint was adopted. */
  serverModified: [
    { path: string; sentHash: string; serverHash?: string; sentSize: number; serverSize: number },
  ];
}

export function userAgent(version = CONNECTOR_VERSION): string {
  return `ISV|ScaiDrive|Connectors/${version}`;
}

/** The SharePoint document library as a sync `FileTree` (the connector's Source). */
export class SharePointSource extends EventEmitter<SharePointSourceEvents> implements FileTree {
  readonly label = 'sharepoint';
  readonly capabilities: TreeCapabilities & { keepsHistory?: boolean };
  readonly api: GraphApi;
  readonly transport: Transport;
  readonly pacer: Pacer;
  readonly auth?: SharePointAuth;
  private loc?: Promise<SpContext>;
  /** Counters for job metrics. */
  readonly stats = {
    throttleEvents: 0,
    throttleWaitMs: 0,
    unmappedGrants: 0,
    serverModified: 0,
    /** Downloads continued where a lost connection left them. */
    downloadResumes: 0,
  };
  private readonly offThrottle: () => void;
  private readonly countResume = (): void => void this.stats.downloadResumes++;

  constructor(
    readonly config: SharePointSourceConfig,
    readonly deps: SharePointSourceDeps = {},
  ) {
    super();
    const pacerKey = `${config.auth.authorityHost}|${config.auth.azureTenantId}|${config.auth.azureClientId}`;
    this.pacer = (deps.pacers ?? defaultPacers).get(pacerKey, deps.pacerOptions);
    // Waits are counted per transport: the pacer is shared with every source of the same
    // tenant + app, and its own 'wait' events include theirs.
    this.transport = new Transport(this.pacer, deps.userAgent ?? userAgent(), (ms) => {
      this.stats.throttleWaitMs += ms;
      this.emit('wait', ms);
    });
    let tokens = deps.tokens;
    if (!tokens) {
      this.auth = new SharePointAuth({ ...config.auth, graphBaseUrl: config.graphBaseUrl });
      tokens = this.auth;
    }
    this.api = new GraphApi(config.graphBaseUrl, tokens, this.transport);
    const onThrottle = (e: ThrottleEvent) => {
      this.stats.throttleEvents++;
      this.emit('throttle', e);
    };
    this.pacer.on('throttle', onThrottle);
    this.offThrottle = () => {
      this.pacer.off('throttle', onThrottle);
    };
    this.capabilities = {
      changeFeed: true,
      readAcl: true,
      writeAcl: false,
      versions: !!config.syncVersions,
      importVersions: false,
      metadata: !!config.syncMetadata,
      move: true,
      hashAlgorithm: 'quickxor',
      keepsHistory: true,
      nameProblem: (name, parent) =>
        sharePointNameProblem(name, parent, this.config.basePath ?? ''),
    };
  }

  /** Resolves site, library and base folder once (and returns them for storing on the connector). */
  async location(signal?: AbortSignal): Promise<SharePointLocation> {
    return (await this.ctx(signal)).loc;
  }

  private ctx(signal?: AbortSignal): Promise<SpContext> {
    this.loc ??= resolveLocation(this.api, this.config, signal).then(
      (loc) => new SpContext(this.api, this.transport, loc, this.deps.stateStore),
    );
    this.loc.catch(() => {
      this.loc = undefined;
    });
    return this.loc;
  }

  async *list(path: RelPath, signal?: AbortSignal): AsyncIterable<Entry> {
    const ctx = await this.ctx(signal);
    const folderId = ctx.cachedFolderId(path);
    let url: string | undefined =
      `${folderId ? ctx.itemRef(folderId) : ctx.ref(path)}/children?$top=999`;
    while (url) {
      const page: Page<DriveItem> = await this.api.get<Page<DriveItem>>(url, {
        signal,
        what: `folder "${path}"`,
      });
      for (const it of page.value) {
        const entry = toEntry(it, joinPath(path, it.name ?? ''));
        ctx.remember(it, entry);
        yield entry;
      }
      url = page['@odata.nextLink'];
    }
  }

  private async statItem(
    ctx: SpContext,
    path: RelPath,
    signal?: AbortSignal,
  ): Promise<DriveItem | null> {
    try {
      return await this.api.get<DriveItem>(ctx.ref(path), { signal, what: `"${path}"` });
    } catch (e) {
      if ((e as AppError).code === ErrorCode.ITEM_NOT_FOUND) return null;
      throw e;
    }
  }

  async stat(path: RelPath, signal?: AbortSignal): Promise<Entry | null> {
    const ctx = await this.ctx(signal);
    const it = await this.statItem(ctx, path, signal);
    if (!it) return null;
    const entry = toEntry(it, splitPath(path).join('/'));
    ctx.remember(it, entry);
    return entry;
  }

  async read(path: RelPath, signal?: AbortSignal): Promise<ReadResult> {
    const ctx = await this.ctx(signal);
    const what = `"${path}"`;
    const refreshUrl = async (): Promise<string | null> =>
      (await this.statItem(ctx, path, signal))?.['@microsoft.graph.downloadUrl'] ?? null;
    const recent = ctx.recentByPath(path);
    if (recent?.downloadUrl) {
      const r = await openDownload(ctx, recent.downloadUrl, recent.entry, {
        signal,
        stale: true,
        what,
        onResume: this.countResume,
        refreshUrl,
      });
      if (r !== 'stale-url') return r;
    }
    const it = await this.statItem(ctx, path, signal);
    if (!it) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `${what} not found on SharePoint`);
    if (!it.file) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `${what} is a folder`);
    const entry = toEntry(it, splitPath(path).join('/'));
    const url = it['@microsoft.graph.downloadUrl'];
    if (!url)
      throw new AppError(ErrorCode.PROTOCOL_ERROR, `${what}: SharePoint gave no download URL`, {
        action: 'skip_item',
      });
    const r = await openDownload(ctx, url, entry, {
      signal,
      stale: false,
      what,
      onResume: this.countResume,
      refreshUrl,
    });
    if (r === 'stale-url')
      throw new ItemError(
        ErrorCode.ITEM_NOT_FOUND,
        `${what} could not be downloaded (gone or no access)`,
      );
    return r;
  }

  private async folderId(ctx: SpContext, path: RelPath, signal?: AbortSignal): Promise<string> {
    const cached = ctx.cachedFolderId(path);
    if (cached) return cached;
    const it = await this.statItem(ctx, path, signal);
    if (!it)
      throw new ItemError(
        ErrorCode.ITEM_NOT_FOUND,
        `Folder "${path}" does not exist on SharePoint`,
      );
    if (!it.folder)
      throw new ItemError(
        ErrorCode.NAME_CONFLICT,
        `"${path}" is a file on SharePoint, not a folder`,
      );
    ctx.rememberFolder(path, it.id);
    return it.id;
  }

  private checkName(path: RelPath): void {
    const name = baseName(path);
    const problem = sharePointNameProblem(name, parentPath(path), this.config.basePath ?? '');
    if (problem) throw new ItemError(ErrorCode.NAME_INVALID, problem);
  }

  async write(path: RelPath, content: Readable, options: WriteOptions): Promise<Entry> {
    const ctx = await this.ctx(options.signal);
    this.checkName(path);
    const rel = splitPath(path).join('/');
    const what = `"${rel}"`;
    let parentId: string;
    try {
      parentId = await this.folderId(ctx, parentPath(rel), options.signal);
    } catch (e) {
      content.destroy();
      throw e;
    }
    const { item, sentHash } = await uploadFile(ctx, content, {
      parentId,
      name: baseName(rel),
      what,
      size: options.size,
      mtimeMs: options.mtimeMs,
      ifMatch: options.ifMatch,
      signal: options.signal,
      fragmentSize: this.config.fragmentSize,
    });
    ctx.forgetPath(rel);
    const serverHash = item.file?.hashes?.quickXorHash;
    const serverSize = item.size ?? -1;
    if ((serverHash && serverHash !== sentHash) || serverSize !== options.size) {
      if (!isOfficeDocument(rel))
        throw new ItemError(
          ErrorCode.CHECKSUM_MISMATCH,
          `${what}: SharePoint stored ${serverSize} bytes (${serverHash}), ${options.size} bytes (${sentHash}) were sent`,
        );
      // What we sent was acknowledged in full; SharePoint rewrote the Office file afterwards.
      // The server's fingerprint becomes the base, so the next run sees no change to upload again.
      this.stats.serverModified++;
      this.emit('serverModified', {
        path: rel,
        sentHash,
        serverHash,
        sentSize: options.size,
        serverSize,
      });
      return { ...toEntry(item, rel), rewritten: true };
    }
    return toEntry(item, rel);
  }

  async mkdir(path: RelPath, signal?: AbortSignal): Promise<Entry> {
    const ctx = await this.ctx(signal);
    const rel = splitPath(path).join('/');
    if (rel === '') return (await this.stat('', signal))!;
    const existing = await this.statItem(ctx, rel, signal);
    if (existing) {
      if (!existing.folder)
        throw new ItemError(
          ErrorCode.NAME_CONFLICT,
          `"${rel}" is a file on SharePoint, not a folder`,
        );
      ctx.rememberFolder(rel, existing.id);
      return toEntry(existing, rel);
    }
    this.checkName(rel);
    const parent = parentPath(rel);
    const parentId = ctx.cachedFolderId(parent) ?? (await this.mkdir(parent, signal)).id!;
    try {
      const it = await this.api.post<DriveItem>(
        `${ctx.itemRef(parentId)}/children`,
        { name: baseName(rel), folder: {}, '@microsoft.graph.conflictBehavior': 'fail' },
        { signal, what: `folder "${rel}"` },
      );
      ctx.rememberFolder(rel, it.id);
      return toEntry(it, rel);
    } catch (e) {
      if ((e as AppError).code !== ErrorCode.NAME_CONFLICT) throw e;
      const again = await this.statItem(ctx, rel, signal);
      if (!again?.folder) throw e;
      ctx.rememberFolder(rel, again.id);
      return toEntry(again, rel);
    }
  }

  async delete(path: RelPath, options: DeleteOptions): Promise<void> {
    const ctx = await this.ctx(options.signal);
    const rel = splitPath(path).join('/');
    if (rel === '')
      throw new ItemError(ErrorCode.PRECONDITION_FAILED, 'The connector root cannot be deleted');
    if (options.kind === 'folder') {
      // Graph deletes folders recursively; the port deletes only empty ones.
      try {
        const page = await this.api.get<Page<DriveItem>>(
          `${ctx.ref(rel)}/children?$top=1&$select=id`,
          {
            signal: options.signal,
          },
        );
        if (page.value.length > 0)
          throw new ItemError(
            ErrorCode.PRECONDITION_FAILED,
            `Folder "${rel}" is not empty on SharePoint`,
          );
      } catch (e) {
        if ((e as AppError).code === ErrorCode.ITEM_NOT_FOUND) return;
        throw e;
      }
    }
    try {
      await this.api.delete(ctx.ref(rel), {
        signal: options.signal,
        headers: options.ifMatch ? { 'If-Match': options.ifMatch } : undefined,
        what: `"${rel}"`,
      });
    } catch (e) {
      if ((e as AppError).code === ErrorCode.ITEM_NOT_FOUND) return;
      throw e;
    } finally {
      ctx.forgetPath(rel);
      if (options.kind === 'folder') ctx.forgetFolder(rel);
    }
  }

  async move(
    from: RelPath,
    to: RelPath,
    options: { ifMatch?: string; signal?: AbortSignal },
  ): Promise<Entry> {
    const ctx = await this.ctx(options.signal);
    const src = splitPath(from).join('/');
    const dst = splitPath(to).join('/');
    this.checkName(dst);
    const parentId = await this.folderId(ctx, parentPath(dst), options.signal);
    const it = await this.api.patch<DriveItem>(
      ctx.ref(src),
      {
        name: baseName(dst),
        parentReference: { id: parentId },
        '@microsoft.graph.conflictBehavior': 'fail',
      },
      {
        signal: options.signal,
        headers: options.ifMatch ? { 'If-Match': options.ifMatch } : undefined,
        what: `"${src}"`,
      },
    );
    ctx.forgetPath(src);
    ctx.forgetFolder(src);
    const entry = toEntry(it, dst);
    ctx.remember(it, entry);
    return entry;
  }

  async setMtime(path: RelPath, mtimeMs: number, signal?: AbortSignal): Promise<Entry> {
    const ctx = await this.ctx(signal);
    const rel = splitPath(path).join('/');
    const it = await this.api.patch<DriveItem>(
      ctx.ref(rel),
      { fileSystemInfo: { lastModifiedDateTime: new Date(mtimeMs).toISOString() } },
      { signal, what: `"${rel}"` },
    );
    return toEntry(it, rel);
  }

  async *changes(cursor: string, signal?: AbortSignal): AsyncIterable<ChangePage> {
    const ctx = await this.ctx(signal);
    yield* new DeltaReader(ctx).pages(cursor, signal);
  }

  /** The delta link for "now" (take it before a full walk, so changes during the walk are seen). */
  async latestCursor(signal?: AbortSignal): Promise<string> {
    const ctx = await this.ctx(signal);
    const page = await this.api.get<Page<DriveItem>>(`${ctx.driveQ}/root/delta?token=latest`, {
      signal,
    });
    if (!page['@odata.deltaLink'])
      throw new AppError(ErrorCode.PROTOCOL_ERROR, 'SharePoint returned no delta link');
    return page['@odata.deltaLink'];
  }

  /** The first page of a fresh delta enumeration (used after a 410: a full walk through delta). */
  async initialCursor(signal?: AbortSignal): Promise<string> {
    const ctx = await this.ctx(signal);
    return this.api.url(`${ctx.driveQ}/root/delta?$top=${DELTA_PAGE_SIZE}`);
  }

  private async itemId(
    ctx: SpContext,
    path: RelPath,
    signal?: AbortSignal,
  ): Promise<{ id: string; folder: boolean }> {
    const it = await this.statItem(ctx, path, signal);
    if (!it) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `"${path}" not found on SharePoint`);
    return { id: it.id, folder: !!it.folder || !!it.root };
  }

  async readAcl(path: RelPath, signal?: AbortSignal): Promise<AclSnapshot | null> {
    const ctx = await this.ctx(signal);
    const { id, folder } = await this.itemId(ctx, path, signal);
    const page = await this.api.get<Page<GraphPermission>>(`${ctx.itemRef(id)}/permissions`, {
      signal,
      what: `"${path}"`,
    });
    const { acl, unmapped } = mapPermissions(page.value, folder);
    for (const u of unmapped) {
      this.stats.unmappedGrants++;
      this.emit('unmappedGrant', { path: splitPath(path).join('/'), ...u });
    }
    return acl;
  }

  async listVersions(path: RelPath, signal?: AbortSignal): Promise<VersionInfo[]> {
    const ctx = await this.ctx(signal);
    const { id } = await this.itemId(ctx, path, signal);
    const page = await this.api.get<
      Page<{ id: string; size?: number; lastModifiedDateTime?: string }>
    >(`${ctx.itemRef(id)}/versions`, { signal, what: `"${path}"` });
    // Graph lists the newest first; the port wants them oldest first with the current one flagged.
    return page.value
      .map((v, i) => ({
        id: v.id,
        size: v.size ?? 0,
        mtimeMs: v.lastModifiedDateTime ? Date.parse(v.lastModifiedDateTime) : 0,
        current: i === 0,
      }))
      .reverse();
  }

  async readVersion(path: RelPath, versionId: string, signal?: AbortSignal): Promise<ReadResult> {
    const ctx = await this.ctx(signal);
    const it = await this.statItem(ctx, path, signal);
    if (!it) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `"${path}" not found on SharePoint`);
    const versions = await this.listVersions(path, signal);
    const v = versions.find((x) => x.id === versionId);
    if (!v)
      throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `Version ${versionId} of "${path}" not found`);
    const what = `version ${versionId} of "${path}"`;
    const location = await this.versionLocation(ctx, it.id, versionId, what, signal);
    const entry: Entry = {
      ...toEntry(it, splitPath(path).join('/')),
      size: v.size,
      mtimeMs: v.mtimeMs,
    };
    delete entry.hash; // versions carry no hash: the size is checked
    const r = await openDownload(ctx, location, entry, {
      signal,
      stale: false,
      what,
      onResume: this.countResume,
      // An old version does not change: a fresh link for it resumes the same bytes.
      refreshUrl: () => this.versionLocation(ctx, it.id, versionId, what, signal),
    });
    if (r === 'stale-url')
      throw new ItemError(
        ErrorCode.ITEM_NOT_FOUND,
        `Version ${versionId} of "${path}" could not be downloaded`,
      );
    return r;
  }

  /**
   * The pre-authorised download URL of a version: `/versions/{id}/content` answers 302 to the
   * SharePoint host, whose location is followed without the token.
   */
  private async versionLocation(
    ctx: SpContext,
    itemId: string,
    versionId: string,
    what: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const token = await (this.deps.tokens ?? this.auth!).getAccessToken();
    const res = await this.transport.attempts('graph', signal, () =>
      fetch(
        this.api.url(`${ctx.itemRef(itemId)}/versions/${encodeURIComponent(versionId)}/content`),
        {
          redirect: 'manual',
          signal,
          headers: { authorization: `Bearer ${token}`, 'user-agent': this.transport.userAgent },
        },
      ),
    );
    const location = res.headers.get('location');
    if (res.status !== 302 || !location) throw graphError(await readGraphFailure(res), what);
    await res.body?.cancel();
    return location;
  }

  async readMetadata(path: RelPath, signal?: AbortSignal): Promise<Record<string, unknown> | null> {
    const ctx = await this.ctx(signal);
    const { id } = await this.itemId(ctx, path, signal);
    const fields = await this.api.get<Record<string, unknown>>(
      `${ctx.itemRef(id)}/listItem/fields`,
      {
        signal,
        what: `"${path}"`,
      },
    );
    return userFields(fields);
  }

  /** Writes library columns back (bidirectional metadata): only the library's own columns. */
  async writeMetadata(
    path: RelPath,
    metadata: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<void> {
    const ctx = await this.ctx(signal);
    const { id } = await this.itemId(ctx, path, signal);
    const patch = userFields(metadata);
    if (Object.keys(patch).length === 0) return;
    await this.api.patch(`${ctx.itemRef(id)}/listItem/fields`, patch, {
      signal,
      what: `"${path}"`,
    });
  }

  async close(): Promise<void> {
    this.offThrottle();
  }
}

/** The factory the worker calls per SharePoint connector. */
export function createSharePointSource(
  config: SharePointSourceConfig,
  deps: SharePointSourceDeps = {},
): SharePointSource {
  return new SharePointSource(config, deps);
}
