import { chownSync, closeSync, openSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError, ErrorCode } from '@scaidrive/core';
import { SmbClient, type SmbSession, type Tree } from '@scaidrive/smb-client';
import { startSamba, type SambaServer } from '@scaidrive/testkit';

describe('SMB client fault handling (kill / restart / stall smbd)', () => {
  let samba: SambaServer;
  let session: SmbSession;
  let tree: Tree;
  const events: string[] = [];

  beforeAll(async () => {
    samba = await startSamba();
    const f = samba.localPath('data', 'big.bin');
    const fd = openSync(f, 'w');
    const block = randomBytes(1 << 20);
    for (let i = 0; i < 256; i++) writeSync(fd, block);
    closeSync(fd);
    chownSync(f, samba.user.uid, 100);
    session = await SmbClient.connect({
      ...samba.clientOptions(),
      requestTimeoutMs: 2000,
      reconnect: { attempts: 6, baseDelayMs: 100, maxDelayMs: 1000 },
    });
    session.on('disconnect', (e: { code: string }) => events.push(`disconnect:${e.code}`));
    session.on('reconnect', () => events.push('reconnect'));
    tree = await session.openShare('data');
  });
  afterAll(async () => {
    await session?.close();
    await samba?.cleanup();
  });

  it('fails a transfer with a typed error when smbd is killed mid-download, without hanging', async () => {
    const rs = tree.createReadStream('big.bin', { chunkSize: 256 * 1024, depth: 2 });
    let got = 0;
    const t0 = Date.now();
    const err = await new Promise<unknown>((resolve) => {
      rs.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= 8 << 20 && got - c.length < 8 << 20) void samba.kill();
      });
      rs.on('error', resolve);
      rs.on('end', () => resolve(new Error('stream ended although smbd was killed')));
    });
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(ErrorCode.CONNECTOR_UNREACHABLE);
    expect((err as AppError).action).toBe('retry');
    expect(got).toBeLessThan(256 << 20);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(events.some((e) => e.startsWith('disconnect:CONNECTOR_UNREACHABLE'))).toBe(true);
  });

  it('fails new operations as unreachable while smbd is down', async () => {
    const err = await tree.stat('big.bin').catch((e: unknown) => e);
    expect((err as AppError).code).toBe(ErrorCode.CONNECTOR_UNREACHABLE);
  });

  it('reconnects automatically after a restart (new session, tree re-connected)', async () => {
    await samba.start();
    const st = await tree.stat('big.bin');
    expect(st.size).toBe(256 << 20);
    expect(events).toContain('reconnect');
    // A full transfer works again.
    let n = 0;
    for await (const c of tree.createReadStream('big.bin')) n += (c as Buffer).length;
    expect(n).toBe(256 << 20);
  });

  it('times out (typed, no hang) when the server stops answering, then recovers', async () => {
    samba.pause();
    try {
      const t0 = Date.now();
      const err = await tree.stat('big.bin').catch((e: unknown) => e);
      expect((err as AppError).code).toBe(ErrorCode.CONNECTOR_UNREACHABLE);
      expect((err as AppError).details).toMatchObject({ reason: 'timeout' });
      expect(Date.now() - t0).toBeLessThan(6000);
    } finally {
      samba.resume();
    }
    await session.reconnect();
    expect((await tree.stat('big.bin')).size).toBe(256 << 20);
  });

  it('kills smbd during an upload: typed error on the write stream', async () => {
    const ws = tree.createWriteStream('upload.bin');
    const chunk = randomBytes(1 << 20);
    const err = await new Promise<unknown>((resolve) => {
      ws.on('error', resolve);
      let i = 0;
      const pump = () => {
        while (i < 512) {
          i++;
          if (i === 16) void samba.kill();
          if (!ws.write(chunk)) {
            ws.once('drain', pump);
            return;
          }
        }
        ws.end();
      };
      ws.on('finish', () => resolve(new Error('upload finished although smbd was killed')));
      pump();
    });
    expect((err as AppError).code).toBe(ErrorCode.CONNECTOR_UNREACHABLE);
    await samba.start();
    await session.reconnect();
    await session.echo();
  });
});
