import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SmbClient, type SmbSession, type Tree } from '@scaidrive/smb-client';
import { startSamba, type SambaServer } from '@scaidrive/testkit';

/**
 * One large round trip in each direction, cross-checked with smbclient. 1 GiB by default;
 * SMB_BIG_FILE_BYTES overrides the size (e.g. on a slow machine).
 */
const SIZE = Number(process.env.SMB_BIG_FILE_BYTES ?? 1024 ** 3);
const MiB = 1 << 20;

function blocks(seed: Buffer): Generator<Buffer> {
  return (function* () {
    for (let off = 0, i = 0; off < SIZE; off += MiB, i++) {
      const b = Buffer.from(seed.subarray(0, Math.min(MiB, SIZE - off)));
      if (b.length >= 8) b.writeBigUInt64LE(BigInt(i), 0);
      yield b;
    }
  })();
}

async function hashFile(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p, { highWaterMark: MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

describe(`large file round trip (${SIZE} bytes)`, () => {
  let samba: SambaServer;
  let session: SmbSession;
  let tree: Tree;
  const seed = randomBytes(MiB);

  beforeAll(async () => {
    samba = await startSamba();
    session = await SmbClient.connect(samba.clientOptions());
    tree = await session.openShare('data');
  });
  afterAll(async () => {
    await session?.close();
    await samba?.cleanup();
  });

  it('uploads with our client; smbclient downloads the same bytes', async () => {
    const h = createHash('sha256');
    const src = Readable.from(
      (function* () {
        for (const b of blocks(seed)) {
          h.update(b);
          yield b;
        }
      })(),
    );
    const info = await tree.writeFile('big-up.bin', src, { size: SIZE });
    expect(info.size).toBe(SIZE);
    const local = path.join(samba.dir, 'big-up-copy.bin');
    await samba.smbclientOk('data', `get big-up.bin ${local}`);
    expect(await hashFile(local)).toBe(h.digest('hex'));
    rmSync(local);
    rmSync(samba.localPath('data', 'big-up.bin'));
  }, 600_000);

  it('smbclient uploads; our client downloads the same bytes', async () => {
    const local = path.join(samba.dir, 'big-src.bin');
    const h = createHash('sha256');
    const fd = openSync(local, 'w');
    for (const b of blocks(seed)) {
      h.update(b);
      writeSync(fd, b);
    }
    closeSync(fd);
    const expected = h.digest('hex');
    await samba.smbclientOk('data', `put ${local} big-down.bin`);
    rmSync(local);
    const got = createHash('sha256');
    let n = 0;
    for await (const c of tree.createReadStream('big-down.bin')) {
      got.update(c as Buffer);
      n += (c as Buffer).length;
    }
    expect(n).toBe(SIZE);
    expect(got.digest('hex')).toBe(expected);
  }, 600_000);
});
