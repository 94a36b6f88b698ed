import { Readable } from 'node:stream';
import type { ChunkStore } from '../chunk-store/types.js';
import type { Db } from '../db.js';
import { versionChunks } from '../versions.js';

export interface ByteRange {
  /** First byte (inclusive). */
  start: number;
  /** End (exclusive). */
  end: number;
}

/**
 * Streams a version's content (or `range` of it) chunk by chunk: the chunk list is read in pages
 * and the next chunk is opened while the current one streams. Versions are immutable and their
 * chunks outlive a concurrent prune by the GC grace period, so a reader always sees one whole
 * version.
 */
export function readContent(
  db: Db,
  store: ChunkStore,
  tenantId: string,
  version: { id: string; size: number; chunkSize: number },
  range?: ByteRange,
): Readable {
  const start = range?.start ?? 0;
  const end = Math.min(range?.end ?? version.size, version.size);
  async function* generate(): AsyncGenerator<Buffer> {
    if (end <= start) return;
    let idx = Math.floor(start / version.chunkSize);
    let offset = idx * version.chunkSize;
    let page: { idx: number; hash: string; size: number }[] = [];
    let next: Promise<Readable> | null = null;
    const open = (c: { hash: string; size: number }, chunkOffset: number): Promise<Readable> => {
      const from = Math.max(0, start - chunkOffset);
      const to = Math.min(c.size, end - chunkOffset);
      const whole = from === 0 && to === c.size;
      return store.read(tenantId, c.hash, whole ? undefined : { start: from, end: to });
    };
    try {
      while (offset < end) {
        if (page.length === 0) page = await versionChunks(db, version.id, idx, 256);
        const chunk = page.shift();
        if (!chunk || chunk.idx !== idx)
          throw new Error(`version ${version.id} has no chunk ${idx}`);
        const current = next ?? open(chunk, offset);
        next = null;
        const following = page[0];
        const nextOffset = offset + chunk.size;
        if (following && following.idx === idx + 1 && nextOffset < end)
          next = open(following, nextOffset);
        const stream = await current;
        for await (const data of stream) yield data as Buffer;
        offset = nextOffset;
        idx++;
      }
    } finally {
      if (next) next.then((s) => s.destroy()).catch(() => undefined);
    }
  }
  return Readable.from(generate(), { objectMode: false, highWaterMark: 1024 * 1024 });
}
