import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError, AuthFailedError, ErrorCode, UnreachableError } from '@scaidrive/core';
import {
  SmbClient,
  type SmbClientOptions,
  type SmbSession,
  type Tree,
} from '@scaidrive/smb-client';
import { freePort, startSamba, type SambaOptions, type SambaServer } from '@scaidrive/testkit';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function expectCode(p: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(code);
    return err as AppError;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

export interface SuiteExpectations {
  dialect?: string;
  signing?: boolean;
  encryption?: boolean;
}

const SIZES = [0, 1, 65535, 65536, 65537, 1048575, 1048576, 1048577];

/**
 * The same behaviour checks against one Samba configuration. Each test file calls this once with its
 * own server (parallel-safe); smbclient / smbcacls are the oracle.
 */
export function defineSmbSuite(
  label: string,
  sambaOptions: SambaOptions,
  clientOptions: Partial<SmbClientOptions> = {},
  expected: SuiteExpectations = {},
  extra: { listing?: boolean; acl?: boolean } = { listing: true, acl: true },
): void {
  describe(`SMB client against Samba (${label})`, () => {
    let samba: SambaServer;
    let session: SmbSession;
    let tree: Tree;
    let work: string;

    beforeAll(async () => {
      samba = await startSamba(sambaOptions);
      session = await SmbClient.connect({ ...samba.clientOptions(), ...clientOptions });
      tree = await session.openShare('data');
      work = path.join(samba.dir, 'work');
      mkdirSync(work, { recursive: true });
    });
    afterAll(async () => {
      await session?.close();
      await samba?.cleanup();
    });

    it('negotiates the expected protection', () => {
      const info = session.info!;
      if (expected.dialect) expect(info.dialect).toBe(expected.dialect);
      if (expected.signing !== undefined) expect(info.signing).toBe(expected.signing);
      if (expected.encryption !== undefined)
        expect(info.encryption || tree.encrypted).toBe(expected.encryption);
      expect(info.maxReadSize).toBeGreaterThanOrEqual(65536);
    });

    it('answers ECHO', async () => {
      await session.echo();
    });

    it.each(SIZES)(
      'round-trips %i bytes in both directions (smbclient cross-check)',
      async (size) => {
        const data = randomBytes(size);
        // Ours → server → smbclient.
        await tree.writeFile(`up-${size}.bin`, data);
        const got = path.join(work, `got-${size}.bin`);
        await samba.smbclientOk('data', `get up-${size}.bin ${got}`);
        expect(sha256(readFileSync(got))).toBe(sha256(data));
        // Streamed upload in odd-sized pieces.
        const pieces = [];
        for (let off = 0; off < size; off += 7777) pieces.push(data.subarray(off, off + 7777));
        const info = await tree.writeFile(`ups-${size}.bin`, Readable.from(pieces), { size });
        expect(info.size).toBe(size);
        expect(sha256(await tree.readFile(`ups-${size}.bin`))).toBe(sha256(data));
        // smbclient → server → ours (compound readFile and stream).
        const local = path.join(work, `src-${size}.bin`);
        writeFileSync(local, data);
        await samba.smbclientOk('data', `put ${local} down-${size}.bin`);
        expect(sha256(await tree.readFile(`down-${size}.bin`))).toBe(sha256(data));
        const chunks: Buffer[] = [];
        for await (const c of tree.createReadStream(`down-${size}.bin`, { chunkSize: 65536 }))
          chunks.push(c as Buffer);
        expect(sha256(Buffer.concat(chunks))).toBe(sha256(data));
        expect((await tree.stat(`down-${size}.bin`)).size).toBe(size);
      },
    );

    it('reads a byte range', async () => {
      const data = randomBytes(300_000);
      await tree.writeFile('range.bin', data);
      const chunks: Buffer[] = [];
      for await (const c of tree.createReadStream('range.bin', {
        start: 1000,
        end: 250_000,
        chunkSize: 65536,
      }))
        chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(data.subarray(1000, 250_001))).toBe(true);
    });

    it('downloads into a Writable with recycled buffers (byte-exact, ranges)', async () => {
      const data = randomBytes(5 * 1024 * 1024 + 17);
      await tree.writeFile('dl.bin', Readable.from([data]));
      const sink = () => {
        const h = createHash('sha256');
        let n = 0;
        const w = new Writable({
          write(chunk: Buffer, _enc, cb) {
            h.update(chunk); // copies: safe with recycled buffers
            n += chunk.length;
            setImmediate(cb);
          },
        });
        return { w, digest: () => h.digest('hex'), size: () => n };
      };
      for (let round = 0; round < 3; round++) {
        const s1 = sink();
        expect(await tree.download('dl.bin', s1.w, { chunkSize: 256 * 1024, depth: 4 })).toBe(
          data.length,
        );
        expect(s1.digest()).toBe(sha256(data));
      }
      const s2 = sink();
      await tree.download('dl.bin', s2.w, { start: 100, end: 3_000_000 });
      expect(s2.digest()).toBe(sha256(data.subarray(100, 3_000_001)));
    });

    it('uploads from a positional reader with recycled buffers (byte-exact, smbclient cross-check)', async () => {
      const data = randomBytes(5 * 1024 * 1024 + 17);
      const mtime = new Date('2021-03-04T05:06:07Z');
      const seen = createHash('sha256');
      const reads: { position: number; length: number }[] = [];
      // Short reads (at most 100,000 bytes each) and a slow reader: the loop must keep asking.
      const read = async (buf: Buffer, position: number) => {
        await new Promise((r) => setImmediate(r));
        const n = data.copy(buf, 0, position, Math.min(data.length, position + 100_000));
        reads.push({ position, length: n });
        return n;
      };
      const info = await tree.upload('upl.bin', read, {
        size: data.length,
        chunkSize: 256 * 1024,
        depth: 3,
        mtime,
        onChunk: (c) => seen.update(c),
      });
      expect(info.size).toBe(data.length);
      expect(seen.digest('hex')).toBe(sha256(data));
      // Every byte read exactly once, in order.
      expect(reads.reduce((n, r) => n + r.length, 0)).toBe(data.length);
      expect(reads.every((r, i) => i === 0 || r.position > reads[i - 1]!.position)).toBe(true);
      const got = path.join(work, 'upl-got.bin');
      await samba.smbclientOk('data', `get upl.bin ${got}`);
      expect(sha256(readFileSync(got))).toBe(sha256(data));
      expect((await tree.stat('upl.bin')).mtime?.getTime()).toBe(mtime.getTime());

      // Empty file; overwrite=false on an existing name; a source shorter than `size`.
      expect((await tree.upload('upl-empty.bin', read, { size: 0 })).size).toBe(0);
      await expectCode(
        tree.upload('upl.bin', read, { size: 10, overwrite: false }),
        ErrorCode.NAME_CONFLICT,
      );
      const short = (buf: Buffer, position: number) =>
        Promise.resolve(position >= 1000 ? 0 : data.copy(buf, 0, position, 1000));
      const err = await expectCode(
        tree.upload('upl-short.bin', short, { size: 300_000, chunkSize: 65536 }),
        ErrorCode.ITEM_CHANGED_DURING_READ,
      );
      expect(err.message).toMatch(/1000 of 300000/);
      // The handle was closed: the partial file can be deleted at once (no sharing violation).
      await tree.delete('upl-short.bin');
      // A failing reader surfaces its own error after the WRITEs in flight have finished.
      const boom = (_buf: Buffer, position: number) =>
        position > 200_000 ? Promise.reject(new Error('disk gone')) : read(_buf, position);
      await expect(
        tree.upload('upl-boom.bin', boom, { size: data.length, chunkSize: 65536 }),
      ).rejects.toThrow('disk gone');
      await tree.delete('upl-boom.bin');
      await expectCode(tree.upload('x.bin', read, { size: -1 }), ErrorCode.PRECONDITION_FAILED);
      for (const bad of [{ depth: 0 }, { chunkSize: 0 }, { depth: 1.5 }])
        await expectCode(
          tree.upload('x.bin', read, { size: 10, ...bad }),
          ErrorCode.PRECONDITION_FAILED,
        );
    });

    it('handles many small files concurrently (credits, compounds)', async () => {
      await tree.mkdir('many');
      const files = Array.from({ length: 200 }, (_, i) => ({
        name: `many/f${i}.txt`,
        data: randomBytes(i * 13),
      }));
      await Promise.all(files.map((f) => tree.writeFile(f.name, f.data)));
      const back = await Promise.all(files.map((f) => tree.readFile(f.name)));
      back.forEach((b, i) => expect(b.equals(files[i]!.data)).toBe(true));
      const listed = await tree.readdir('many');
      expect(listed).toHaveLength(200);
    });

    if (extra.listing) {
      it('lists 10,000 entries with sizes, times and file ids', async () => {
        const dir = samba.localPath('data', 'big');
        mkdirSync(dir);
        chownSync(dir, samba.user.uid, 100);
        for (let i = 0; i < 10_000; i++)
          writeFileSync(path.join(dir, `entry-${String(i).padStart(5, '0')}.txt`), String(i));
        const names = new Set<string>();
        const ids = new Set<bigint>();
        for await (const e of tree.list('/big/')) {
          names.add(e.name);
          ids.add(e.fileId);
          expect(e.isDirectory).toBe(false);
          expect(e.size).toBe(String(Number(e.name.slice(6, 11))).length);
          expect(e.mtime).toBeInstanceOf(Date);
        }
        expect(names.size).toBe(10_000);
        expect(ids.size).toBe(10_000);
        expect(names.has('entry-09999.txt')).toBe(true);
        const out = await samba.smbclientOk('data', 'ls big\\*');
        expect(out.split('\n').filter((l) => /entry-\d{5}\.txt/.test(l))).toHaveLength(10_000);
      });
    }

    it('reports hidden and system attributes set through smbclient setmode', async () => {
      await tree.writeFile('attrs/plain.txt', Buffer.from('p')).catch(async () => {
        await tree.mkdir('attrs');
        await tree.writeFile('attrs/plain.txt', Buffer.from('p'));
      });
      await tree.writeFile('attrs/hidden.txt', Buffer.from('h'));
      await tree.writeFile('attrs/system.txt', Buffer.from('s'));
      await tree.writeFile('attrs/both.txt', Buffer.from('b'));
      await samba.smbclientOk(
        'data',
        'setmode attrs\\hidden.txt +h; setmode attrs\\system.txt +s; setmode attrs\\both.txt +hs',
      );
      const byName = new Map((await tree.readdir('attrs')).map((e) => [e.name, e]));
      expect(byName.get('plain.txt')).toMatchObject({ hidden: false, system: false });
      expect(byName.get('hidden.txt')).toMatchObject({ hidden: true, system: false });
      expect(byName.get('system.txt')).toMatchObject({ hidden: false, system: true });
      expect(byName.get('both.txt')).toMatchObject({ hidden: true, system: true });
      expect(await tree.stat('attrs/both.txt')).toMatchObject({ hidden: true, system: true });
      // And the other way: set by us, seen by smbclient.
      await tree.setAttributes('attrs/plain.txt', { hidden: true, readOnly: true });
      const ai = await samba.smbclientOk('data', 'allinfo attrs\\plain.txt');
      expect(ai).toMatch(/attributes: [A-Z]*[RH][A-Z]*/);
      expect(ai).toMatch(/attributes: .*H/);
      expect(ai).toMatch(/attributes: .*R/);
    });

    it('renames over an existing file only with replace', async () => {
      await tree.writeFile('ren-a.txt', Buffer.from('AAA'));
      await tree.writeFile('ren-b.txt', Buffer.from('BBB'));
      await expectCode(tree.rename('ren-a.txt', 'ren-b.txt'), ErrorCode.NAME_CONFLICT);
      await tree.rename('/ren-a.txt', '\\ren-b.txt', { replace: true });
      const got = path.join(work, 'ren.txt');
      await samba.smbclientOk('data', `get ren-b.txt ${got}`);
      expect(readFileSync(got, 'utf8')).toBe('AAA');
      await expectCode(tree.stat('ren-a.txt'), ErrorCode.ITEM_NOT_FOUND);
      await tree.mkdir('ren-dir/sub', { recursive: true });
      await tree.rename('ren-b.txt', 'ren-dir/sub/moved.txt');
      expect((await tree.readFile('ren-dir/sub/moved.txt')).toString()).toBe('AAA');
    });

    it('deletes files and directories', async () => {
      await tree.mkdir('del/inner', { recursive: true });
      await tree.mkdir('del/inner', { recursive: true }); // idempotent
      await expectCode(tree.mkdir('del/inner'), ErrorCode.NAME_CONFLICT);
      await tree.writeFile('del/inner/x.txt', Buffer.from('x'));
      await expectCode(tree.rmdir('del/inner'), ErrorCode.PRECONDITION_FAILED);
      await tree.delete('del/inner/x.txt');
      await tree.rmdir('del/inner');
      const ls = await samba.smbclient('data', 'ls del\\inner');
      expect(ls.stdout + ls.stderr).toMatch(/NT_STATUS_(OBJECT_NAME_NOT_FOUND|NO_SUCH_FILE)/);
      await expectCode(tree.delete('del/nope.txt'), ErrorCode.ITEM_NOT_FOUND);
      expect(await tree.exists('del')).toBe(true);
      expect(await tree.exists('del/inner')).toBe(false);
    });

    it('sets mtime visibly through smbclient', async () => {
      await tree.writeFile('times.txt', Buffer.from('t'));
      const mtime = new Date('2021-03-04T05:06:07Z');
      await tree.setTimes('times.txt', { mtime });
      const ai = await samba.smbclientOk('data', 'allinfo times.txt');
      expect(ai).toMatch(/write_time:\s+Thu Mar {2}4 05:06:07 2021 UTC/);
      expect((await tree.stat('times.txt')).mtime?.toISOString()).toBe(mtime.toISOString());
      // On write: mtime applied before close.
      const info = await tree.writeFile('times2.txt', Buffer.from('u'), { mtime });
      expect(info.mtime?.toISOString()).toBe(mtime.toISOString());
      const ws = tree.createWriteStream('times3.txt', { mtime, flush: true });
      await new Promise<void>((res, rej) =>
        ws.end(Buffer.alloc(70_000, 1), () => res()).on('error', rej),
      );
      expect((await tree.stat('times3.txt')).mtime?.toISOString()).toBe(mtime.toISOString());
    });

    it('maps errors to typed AppErrors with the NTSTATUS in details', async () => {
      const e = await expectCode(tree.stat('no/such/file.txt'), ErrorCode.ITEM_NOT_FOUND);
      expect(e.action).toBe('skip_item');
      expect(e.details).toMatchObject({
        ntstatus: expect.stringMatching(/^STATUS_OBJECT_(PATH|NAME)_NOT_FOUND$/),
      });
      await expectCode(session.openShare('no-such-share'), ErrorCode.CONNECTOR_SHARE_NOT_FOUND);
      await expectCode(tree.readFile('..\\etc\\passwd'), ErrorCode.VALIDATION_ERROR);
      await expectCode(
        tree.writeFile('bad:name.txt', Buffer.from('x')),
        ErrorCode.VALIDATION_ERROR,
      );
    });

    it('reads with minimal access (a read-only file not owned by the user)', async () => {
      const p = samba.localPath('data', 'root-owned.txt');
      writeFileSync(p, 'root data', { mode: 0o644 });
      chownSync(p, 0, 0);
      expect((await tree.readFile('root-owned.txt')).toString()).toBe('root data');
      const chunks: Buffer[] = [];
      for await (const c of tree.createReadStream('root-owned.txt')) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('root data');
      expect((await tree.stat('root-owned.txt')).size).toBe(9);
      const sd = await tree.getSecurityDescriptor('root-owned.txt');
      expect(sd.owner).toMatch(/^S-1-/);
      await expectCode(
        tree.writeFile('root-owned.txt', Buffer.from('x')),
        ErrorCode.ITEM_ACCESS_DENIED,
      );
      // (Deleting it is allowed: POSIX semantics, the user owns the directory.)
    });

    it('reports a sharing violation as ITEM_LOCKED', async () => {
      await tree.writeFile('locked.txt', Buffer.from('l'));
      const h = await tree.open('locked.txt', { access: 0x1 | 0x2 | 0x80, shareAccess: 0 });
      try {
        const e = await expectCode(tree.readFile('locked.txt'), ErrorCode.ITEM_LOCKED);
        expect(e.details).toMatchObject({ ntstatus: 'STATUS_SHARING_VIOLATION' });
      } finally {
        await h.close();
      }
      expect((await tree.readFile('locked.txt')).toString()).toBe('l');
    });

    it('streams with back-pressure and several reads in flight', async () => {
      const data = randomBytes(6 * 1024 * 1024 + 123);
      await tree.writeFile('stream.bin', Readable.from([data]));
      const rs = tree.createReadStream('stream.bin', { chunkSize: 256 * 1024, depth: 4 });
      const chunks: Buffer[] = [];
      // Slow consumer: pauses between chunks.
      for await (const c of rs) {
        chunks.push(c as Buffer);
        await new Promise((r) => setImmediate(r));
      }
      expect(sha256(Buffer.concat(chunks))).toBe(sha256(data));
    });

    it('watches a directory with CHANGE_NOTIFY and cancels cleanly', async () => {
      await tree.mkdir('watched');
      const w = await tree.watch('watched');
      const next = w.next();
      await new Promise((r) => setTimeout(r, 100));
      await samba.smbclientOk('data', `put /etc/hostname watched\\new.txt`);
      const events = await next;
      expect(events).toContainEqual({ action: 'added', path: 'new.txt' });
      await w.close();
      // A pending notify on a quiet directory is cancelled by close() without hanging.
      await tree.mkdir('quiet');
      const q = await tree.watch('quiet', { recursive: true });
      const pending = q.next();
      await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      await q.close();
      expect(await pending).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(5000);
      // The session still works afterwards.
      expect(await tree.exists('watched/new.txt')).toBe(true);
    });

    if (extra.acl) {
      it('parses security descriptors set with smbcacls and resolves SIDs via LSARPC', async () => {
        await tree.writeFile('acl.txt', Buffer.from('acl'));
        const other = samba.users[1]!;
        const add = await samba.smbcacls('data', 'acl.txt', [
          '--add',
          `ACL:${samba.netbiosName}\\${other.username}:DENIED/0/W`,
        ]);
        expect(add.stderr + add.stdout).toBe('');
        expect(add.code).toBe(0);
        const add2 = await samba.smbcacls('data', 'acl.txt', [
          '--add',
          `ACL:${samba.netbiosName}\\${other.username}:ALLOWED/0x3/R`,
        ]);
        expect(add2.code).toBe(0);
        const sd = await tree.getSecurityDescriptor('acl.txt');
        expect(sd.owner).toMatch(/^S-1-5-21-/);
        expect(sd.dacl).not.toBeNull();
        const names = await session.lookupNames([
          `${samba.netbiosName}\\${other.username}`,
          samba.user.username,
        ]);
        const otherSid = names.get(`${samba.netbiosName}\\${other.username}`)!.sid;
        expect(otherSid).toMatch(/^S-1-5-21-\d+-\d+-\d+-\d+$/);
        expect(names.get(samba.user.username)?.sid).toBe(sd.owner);
        const deny = sd.dacl!.find((a) => a.sid === otherSid && a.type === 'deny');
        const allow = sd.dacl!.find((a) => a.sid === otherSid && a.type === 'allow');
        expect(deny).toBeDefined();
        expect(allow).toBeDefined();
        expect(deny!.mask & 0x2).toBe(0x2); // FILE_WRITE_DATA within WRITE
        expect(allow!.mask & 0x1).toBe(0x1);
        const sids = [...new Set([sd.owner!, sd.group!, ...sd.dacl!.map((a) => a.sid)])];
        const resolved = await session.lookupSids([...sids, 'S-1-1-0']);
        expect(resolved.get(otherSid)?.fullName.toLowerCase()).toBe(
          `${samba.netbiosName}\\${other.username}`.toLowerCase(),
        );
        expect(resolved.get(sd.owner!)?.name).toBe(samba.user.username);
        expect(resolved.get('S-1-1-0')?.name).toBe('Everyone');
        // The oracle agrees on the owner.
        const q = await samba.smbcacls('data', 'acl.txt', ['--numeric']);
        expect(q.stdout).toContain(`OWNER:${sd.owner}`);
        // Unknown SIDs are simply absent.
        const unknown = await session.lookupSids(['S-1-5-21-1-2-3-999999']);
        expect(unknown.size).toBe(0);
      });
    }

    it('rejects a wrong password with a typed auth error (no password in the error)', async () => {
      const bad = 'Definitely-Wrong-Password';
      const err = await expectCode(
        SmbClient.connect({ ...samba.clientOptions(), ...clientOptions, password: bad }),
        ErrorCode.CONNECTOR_AUTH_FAILED,
      );
      expect(err).toBeInstanceOf(AuthFailedError);
      expect(err.action).toBe('fail_job');
      expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain(bad);
    });

    it('reports a closed port as unreachable', async () => {
      const port = await freePort();
      const err = await expectCode(
        SmbClient.connect({
          ...samba.clientOptions(),
          ...clientOptions,
          port,
          connectTimeoutMs: 3000,
        }),
        ErrorCode.CONNECTOR_UNREACHABLE,
      );
      expect(err).toBeInstanceOf(UnreachableError);
      expect(err.action).toBe('retry');
    });
  });
}
