import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { FileHandle } from './tree.js';
import { writeFrom } from './upload.js';

/**
 * The buffer-recycling invariants of `writeFrom`, with a handle whose WRITEs answer late and out of
 * order: a buffer is never refilled while its WRITE is in flight, at most `depth` are in flight,
 * and a failed WRITE ends the upload without leaving WRITEs behind.
 */
function fakeHandle(o: { failAt?: number } = {}) {
  const received = new Map<number, Buffer>();
  let inflight = 0;
  let maxInflight = 0;
  let calls = 0;
  const handle = {
    write(offset: number, data: Buffer): Promise<number> {
      const call = calls++;
      inflight++;
      maxInflight = Math.max(maxInflight, inflight);
      const atSend = Buffer.from(data);
      // Later calls answer sooner: out-of-order completion.
      const delay = 1 + ((call * 7) % 5);
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          inflight--;
          // The bytes at answer time must still be the bytes sent (the server reads them until then).
          if (!data.equals(atSend)) return reject(new Error(`buffer of WRITE ${call} was reused`));
          if (call === o.failAt) return reject(new Error('STATUS_DISK_FULL'));
          received.set(offset, atSend);
          resolve(data.length);
        }, delay),
      );
    },
  } as unknown as FileHandle;
  return { handle, received, stats: () => ({ inflight, maxInflight, calls }) };
}

describe('writeFrom (recycled upload buffers)', () => {
  it('sends every byte once, in chunks, with at most depth WRITEs and buffers', async () => {
    const data = randomBytes(1_000_003);
    const { handle, received, stats } = fakeHandle();
    const allocated = new Set<ArrayBufferLike>();
    await writeFrom(
      handle,
      (buf, position) => {
        allocated.add(buf.buffer);
        return Promise.resolve(data.copy(buf, 0, position, position + buf.length));
      },
      { size: data.length, chunkSize: 65536, depth: 3 },
    );
    const offsets = [...received.keys()].sort((a, b) => a - b);
    expect(Buffer.concat(offsets.map((o) => received.get(o)!)).equals(data)).toBe(true);
    expect(stats().maxInflight).toBeLessThanOrEqual(3);
    expect(stats().calls).toBe(Math.ceil(data.length / 65536));
    expect(allocated.size).toBeLessThanOrEqual(3);
    expect(stats().inflight).toBe(0);
  });

  it('a failed WRITE ends the upload with its error once the others have answered', async () => {
    const data = randomBytes(2_000_000);
    const { handle, stats } = fakeHandle({ failAt: 4 });
    await expect(
      writeFrom(
        handle,
        (buf, position) => Promise.resolve(data.copy(buf, 0, position, position + buf.length)),
        { size: data.length, chunkSize: 65536, depth: 4 },
      ),
    ).rejects.toThrow('STATUS_DISK_FULL');
    expect(stats().inflight).toBe(0);
    // It stopped soon after the failure instead of sending the whole file.
    expect(stats().calls).toBeLessThan(Math.ceil(data.length / 65536));
  });
  it('a WRITE that fails during a slow read stops the upload before the next WRITE', async () => {
    const data = randomBytes(300_000);
    const { handle, stats } = fakeHandle({ failAt: 0 });
    const slowRead = async (buf: Buffer, position: number) => {
      await new Promise((r) => setTimeout(r, 30));
      return data.copy(buf, 0, position, position + buf.length);
    };
    await expect(
      writeFrom(handle, slowRead, { size: data.length, chunkSize: 65536, depth: 4 }),
    ).rejects.toThrow('STATUS_DISK_FULL');
    // WRITE 0 failed while chunk 1 was being read: chunk 1 was never sent.
    expect(stats().calls).toBe(1);
  });

  it('rejects a reader that claims more bytes than the buffer holds', async () => {
    const { handle, stats } = fakeHandle();
    await expect(
      writeFrom(handle, (buf) => Promise.resolve(buf.length + 1), {
        size: 100_000,
        chunkSize: 65536,
        depth: 2,
      }),
    ).rejects.toThrow(/returned 65537 for a buffer of 65536 bytes/);
    expect(stats().calls).toBe(0);
  });
});
