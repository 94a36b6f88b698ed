import { joinPath, pathKey, splitPath } from '@scaidrive/core';
import type { Entry, StateStore } from '@scaidrive/sync';
import type { GraphApi } from './graph-client.js';
import type { DriveItem } from './items.js';
import type { SharePointLocation } from './location.js';
import { encodeGraphPath } from './names.js';
import type { Transport } from './transport.js';

/** What the Source's modules share: the Graph API, the transport, the location and small caches. */
export class SpContext {
  /** pathKey (connector-relative) → folder item id. */
  private readonly folderIds = new Map<string, string>();
  /** pathKey → recently seen file entry + download URL (from listings and delta). */
  private readonly recent = new Map<string, { entry: Entry; downloadUrl?: string; at: number }>();
  static readonly RECENT_MAX = 5000;
  static readonly RECENT_TTL_MS = 10 * 60_000;

  constructor(
    readonly api: GraphApi,
    readonly transport: Transport,
    readonly loc: SharePointLocation,
    readonly stateStore?: StateStore,
  ) {}

  get driveQ(): string {
    return `/drives/${encodeURIComponent(this.loc.driveId)}`;
  }

  /** Graph address of the item at a connector-relative path. */
  ref(rel: string): string {
    const enc = encodeGraphPath(rel);
    return enc
      ? `${this.driveQ}/items/${this.loc.baseItemId}:/${enc}:`
      : `${this.driveQ}/items/${this.loc.baseItemId}`;
  }

  /** Graph address of a child `name` of folder id `parentId`. */
  childRef(parentId: string, name: string): string {
    return `${this.driveQ}/items/${parentId}:/${encodeURIComponent(name)}:`;
  }

  itemRef(id: string): string {
    return `${this.driveQ}/items/${encodeURIComponent(id)}`;
  }

  /** Drive-relative path of a connector-relative path. */
  drivePath(rel: string): string {
    return joinPath(this.loc.basePath, rel);
  }

  /** Connector-relative path of a drive path, or null when it is outside the connector root. */
  relPath(drivePath: string): string | null {
    if (!this.loc.basePath) return splitPath(drivePath).join('/');
    const base = pathKey(this.loc.basePath);
    const key = pathKey(drivePath);
    if (key === base) return '';
    if (!key.startsWith(base + '/')) return null;
    return splitPath(drivePath).slice(splitPath(this.loc.basePath).length).join('/');
  }

  rememberFolder(rel: string, id: string): void {
    if (this.folderIds.size > 20_000) this.folderIds.clear();
    this.folderIds.set(pathKey(rel), id);
  }

  forgetFolder(rel: string): void {
    const k = pathKey(rel);
    for (const key of [...this.folderIds.keys()])
      if (key === k || key.startsWith(k + '/')) this.folderIds.delete(key);
  }

  cachedFolderId(rel: string): string | undefined {
    if (splitPath(rel).length === 0) return this.loc.baseItemId;
    return this.folderIds.get(pathKey(rel));
  }

  remember(item: DriveItem, entry: Entry): void {
    if (entry.kind === 'folder') {
      this.rememberFolder(entry.path, item.id);
      return;
    }
    const k = pathKey(entry.path);
    this.recent.delete(k);
    if (this.recent.size >= SpContext.RECENT_MAX) {
      const first = this.recent.keys().next().value;
      if (first !== undefined) this.recent.delete(first);
    }
    this.recent.set(k, {
      entry,
      downloadUrl: item['@microsoft.graph.downloadUrl'],
      at: Date.now(),
    });
  }

  /** A fresh-enough entry (and its download URL) seen for this path in a listing or delta. */
  recentByPath(rel: string): { entry: Entry; downloadUrl?: string } | undefined {
    const k = pathKey(rel);
    const v = this.recent.get(k);
    if (!v) return undefined;
    if (Date.now() - v.at > SpContext.RECENT_TTL_MS) {
      this.recent.delete(k);
      return undefined;
    }
    return v;
  }

  forgetPath(rel: string): void {
    this.recent.delete(pathKey(rel));
  }
}
