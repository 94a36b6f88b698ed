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

/** Bytes of chunks read ahead of the consumer (at least one chunk). */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;

/**
 * Streams a version's content (or `range` of it) chunk by chunk: the chunk list is read in pages,
 * chunks are read whole into buffers a few ahead of the consumer (bounded memory), and handed on in
 * order. Versions are immutable and their chunks outlive a concurrent prune by the GC grace
 * period, so a reader always sees one whole version.
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
  const depth = Math.max(1, Math.floor(READ_AHEAD_BYTES / Math.max(1, version.chunkSize)));
  async function* generate(): AsyncGenerator<Buffer> {
    if (end <= start) return;
    let idx = Math.floor(start / version.chunkSize);
    let offset = idx * version.chunkSize;
    const ahead: Promise<Buffer>[] = [];
    let page: { idx: number; hash: string; size: number }[] = [];
    let exhausted = false;
    const fill = async (): Promise<void> => {
      while (!exhausted && ahead.length < depth) {
        if (page.length === 0) {
          page = await versionChunks(db, version.id, idx, 256);
          if (page.length === 0) {
            exhausted = true;
            break;
          }
        }
        const c = page.shift()!;
        if (c.idx !== idx) throw new Error(`version ${version.id} has no chunk ${idx}`);
        const from = Math.max(0, start - offset);
        const to = Math.min(c.size, end - offset);
        const whole = from === 0 && to === c.size;
        const p = store.readBuffer(tenantId, c.hash, whole ? undefined : { start: from, end: to });
        p.catch(() => undefined); // surfaced when awaited below
        ahead.push(p);
        offset += c.size;
        idx++;
        if (offset >= end) exhausted = true;
      }
    };
    await fill();
    while (ahead.length > 0) {
      const buf = await ahead.shift()!;
      await fill();
      yield buf;
    }
    if (offset < end) throw new Error(`version ${version.id} ends before its size`);
  }
  return Readable.from(generate(), { objectMode: false, highWaterMark: 1 });
}
