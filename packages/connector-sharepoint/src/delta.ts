import { joinPath } from '@scaidrive/core';
import type { Change, ChangePage } from '@scaidrive/sync';
import type { SpContext } from './context.js';
import { drivePathOf, isFolder, toEntry, type DriveItem, type Page } from './items.js';

/**
 * The change feed over `/drives/{id}/root/delta` (SharePoint supports delta on the library root
 * only). Delta items carry no paths, so paths are rebuilt from ids: items seen in this run of the
 * feed, then the engine's base (`StateStore.getBySourceId`, connector-relative paths), then one
 * `GET /items/{id}` (whose `parentReference.path` is absolute). Items outside the connector root
 * are dropped; an item that moved out of it becomes a delete. Each page's cursor (nextLink, then
 * deltaLink) is handed to the engine to persist only after the page's changes are committed.
 */
export const DELTA_PAGE_SIZE = 500;

interface Known {
  name: string;
  parentId?: string;
  folder: boolean;
}

export class DeltaReader {
  private readonly known = new Map<string, Known>();
  private readonly paths = new Map<string, string | null>();
  /** GETs made to resolve unknown parents (for metrics/tests). */
  lookups = 0;

  constructor(private readonly ctx: SpContext) {}

  async *pages(cursor: string, signal?: AbortSignal): AsyncIterable<ChangePage> {
    let url: string | undefined = cursor;
    while (url) {
      const page: Page<DriveItem> = await this.ctx.api.get<Page<DriveItem>>(url, {
        signal,
        what: 'change feed',
      });
      const changes = await this.toChanges(page.value, signal);
      const next: string | undefined = page['@odata.nextLink'];
      const cur = next ?? page['@odata.deltaLink'];
      if (!cur) throw new Error('delta page without nextLink or deltaLink');
      yield { changes, cursor: cur, done: !next };
      url = next;
    }
  }

  private async toChanges(items: DriveItem[], signal?: AbortSignal): Promise<Change[]> {
    // Index the page first: a child may come before its (renamed) parent.
    this.paths.clear();
    for (const it of items) {
      if (it.deleted) this.known.delete(it.id);
      else if (it.name !== undefined)
        this.known.set(it.id, {
          name: it.name,
          parentId: it.parentReference?.id,
          folder: isFolder(it),
        });
    }
    const out: Change[] = [];
    for (const it of items) {
      if (it.root || it.id === this.ctx.loc.baseItemId) continue;
      if (it.deleted) {
        out.push({
          type: 'delete',
          id: it.id,
          ...(it.folder ? { kind: 'folder' } : it.file ? { kind: 'file' } : {}),
        });
        continue;
      }
      const drivePath = await this.drivePath(it.id, signal);
      const rel = drivePath === null ? null : this.ctx.relPath(drivePath);
      if (rel === null || rel === '') {
        // Outside the connector root: if it used to be inside, it moved out.
        const base = await this.ctx.stateStore?.getBySourceId(it.id);
        if (base) out.push({ type: 'delete', id: it.id, path: base.path, kind: base.kind });
        continue;
      }
      const entry = toEntry(it, rel);
      this.ctx.remember(it, entry);
      out.push({ type: 'upsert', entry });
    }
    return out;
  }

  /** Drive-relative path of an item id, or null when it cannot be placed. */
  private async drivePath(id: string, signal?: AbortSignal, depth = 0): Promise<string | null> {
    if (id === this.ctx.loc.rootItemId) return '';
    if (id === this.ctx.loc.baseItemId) return this.ctx.loc.basePath;
    if (this.paths.has(id)) return this.paths.get(id)!;
    if (depth > 200) return null;
    let result: string | null;
    const k = this.known.get(id);
    if (k) {
      const parent = k.parentId ? await this.drivePath(k.parentId, signal, depth + 1) : null;
      result = parent === null ? null : joinPath(parent, k.name);
    } else {
      const base = await this.ctx.stateStore?.getBySourceId(id);
      if (base) result = this.ctx.drivePath(base.path);
      else {
        this.lookups++;
        try {
          const item = await this.ctx.api.get<DriveItem>(
            `${this.ctx.itemRef(id)}?$select=id,name,parentReference,root`,
            { signal, what: 'parent folder' },
          );
          result = drivePathOf(item);
        } catch (e) {
          if ((e as { code?: string }).code !== 'ITEM_NOT_FOUND') throw e;
          result = null;
        }
      }
    }
    this.paths.set(id, result);
    return result;
  }
}
