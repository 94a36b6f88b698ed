import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import { UnreachableError } from '@scaidrive/core';
import { runSync } from '../engine.js';
import type { SyncProgress } from '../plan.js';
import type { FileTree, WriteOptions } from '../ports.js';
import { World } from './harness.js';

let w: World;
afterEach(async () => w?.cleanup());

/**
 * Bytes are counted as they flow, so a job copying one large file shows progress before the file
 * is done; an attempt that fails gives its bytes back, so a retried file is counted once.
 */
describe('bytesTransferred during a transfer', () => {
  it('moves while a file copies and counts a retried file once', async () => {
    const size = 3 * 1024 * 1024 + 5;
    const seenDuringWrite: number[] = [];
    const progress: SyncProgress[] = [];
    let attempts = 0;
    w = await World.create({
      wrapTarget: (t) =>
        new Proxy(t, {
          get(tree, prop, receiver) {
            if (prop !== 'write') {
              const v = Reflect.get(tree, prop, receiver);
              return typeof v === 'function' ? v.bind(tree) : v;
            }
            return async (p: string, content: Readable, o: WriteOptions) => {
              if (++attempts === 1) {
                // First attempt: take a megabyte or so, then the connection drops.
                let got = 0;
                for await (const chunk of content as AsyncIterable<Buffer>) {
                  got += chunk.length;
                  if (got >= 1024 * 1024) break;
                }
                content.destroy();
                throw new UnreachableError('connection reset');
              }
              return tree.write(p, content, o);
            };
          },
        }) as FileTree,
    });
    await w.write('source', 'big.bin', 'x'.repeat(size));
    const summary = await runSync({
      source: w.sourceTree,
      target: w.targetTree,
      state: w.state,
      options: {
        direction: 'source_to_target',
        conflictResolution: 'KEEP_BOTH',
        progressIntervalMs: 0,
        retryBaseMs: 1,
      },
      onProgress: (p) => {
        progress.push(p);
        if (attempts === 2 && p.filesSynced === 0) seenDuringWrite.push(p.bytesTransferred);
      },
    });
    expect(summary.status).toBe('completed');
    expect(attempts).toBe(2);
    // Progress before the file finished, below its size.
    expect(seenDuringWrite.some((b) => b > 0 && b < size)).toBe(true);
    // The failed attempt's megabyte was given back: the file counts once.
    expect(summary.progress.bytesTransferred).toBe(size);
    expect(summary.progress.filesSynced).toBe(1);
    expect(Math.max(...progress.map((p) => p.bytesTransferred))).toBeLessThanOrEqual(
      size + 1024 * 1024 + 65536,
    );
  });
});
