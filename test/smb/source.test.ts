import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Readable, PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError, AuthFailedError, ErrorCode, UnreachableError, newId } from '@scaidrive/core';
import {
  SmbSessionPool,
  createSmbSource,
  tempName,
  type SmbSource,
  type SmbSourceConfig,
} from '@scaidrive/connector-smb';
import { SmbClient } from '@scaidrive/smb-client';
import type { Entry } from '@scaidrive/sync';
import { freePort, startSamba, type SambaServer } from '@scaidrive/testkit';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function list(src: SmbSource, path: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  for await (const e of src.list(path)) out.set(e.name, e);
  return out;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    expect(err.code).toBe(code);
    return err;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

let samba: SambaServer;
let pool: SmbSessionPool;
let src: SmbSource;
let config: SmbSourceConfig;
const root = () => samba.localPath('data', 'root');

beforeAll(async () => {
  samba = await startSamba();
  mkdirSync(root());
  chownSync(root(), samba.user.uid, 100);
  config = { id: newId('cnn'), ...samba.connectorFields(), basePath: '/root/' };
  pool = new SmbSessionPool();
  src = await createSmbSource(config, { pool });
});
afterAll(async () => {
  await src?.close();
  await pool?.closeAll();
  await samba?.cleanup();
});

describe('listing', () => {
  it('lists files and folders with sizes, times, attributes, ids and versions', async () => {
    await samba.smbclientOk(
      'data',
      'mkdir root\\l; mkdir root\\l\\sub; put /etc/hostname root\\l\\plain.txt; ' +
        'put /etc/hostname root\\l\\hidden.txt; put /etc/hostname root\\l\\system.txt; ' +
        'setmode root\\l\\hidden.txt +h; setmode root\\l\\system.txt +s',
    );
    const when = new Date('2021-03-04T05:06:07.891Z');
    const e = await src.write('l/dated.bin', Readable.from([Buffer.from('12345')]), {
      size: 5,
      mtimeMs: when.getTime(),
    });
    expect(e).toMatchObject({ name: 'dated.bin', path: 'l/dated.bin', kind: 'file', size: 5 });
    expect(e.mtimeMs).toBe(when.getTime());
    const l = await list(src, 'l');
    expect([...l.keys()].sort()).toEqual(
      ['dated.bin', 'hidden.txt', 'plain.txt', 'sub', 'system.txt'].sort(),
    );
    expect(l.get('sub')).toMatchObject({ kind: 'folder', size: 0, path: 'l/sub' });
    expect(l.get('hidden.txt')).toMatchObject({ hidden: true });
    expect(l.get('hidden.txt')!.system).toBeUndefined();
    expect(l.get('system.txt')).toMatchObject({ system: true });
    expect(l.get('plain.txt')!.hidden).toBeUndefined();
    // The listing, a stat and the post-write entry describe the file identically.
    expect(l.get('dated.bin')).toEqual(e);
    expect(await src.stat('l/dated.bin')).toEqual(e);
    expect(e.id).toMatch(/^\d+$/);
    expect(e.version).toContain(':');
    expect(await src.stat('l/nope.txt')).toBeNull();
    await expectCode(
      (async () => {
        for await (const _ of src.list('missing')) void _;
      })(),
      ErrorCode.ITEM_NOT_FOUND,
    );
  });

  it('lists the root of base_path and never shows its own temporary files (removes stale ones)', async () => {
    mkdirSync(`${root()}/t`);
    chownSync(`${root()}/t`, samba.user.uid, 100);
    const fresh = tempName();
    const stale = tempName(Date.now() - 3 * 24 * 3600_000);
    writeFileSync(`${root()}/t/${fresh}`, 'in progress');
    writeFileSync(`${root()}/t/${stale}`, 'left by a crash');
    writeFileSync(`${root()}/t/real.txt`, 'real');
    const names = [...(await list(src, 't')).keys()];
    expect(names).toEqual(['real.txt']);
    expect(readdirSync(`${root()}/t`).sort()).toEqual([fresh, 'real.txt'].sort());
    expect([...(await list(src, '')).keys()]).toContain('t');
  });

  it('reports unicode and long names as spelled', async () => {
    const long = `${'L'.repeat(200)}.txt`;
    const uni = 'Ünïcödé 日本語 – ✓.txt';
    mkdirSync(`${root()}/u`);
    writeFileSync(`${root()}/u/${long}`, 'long');
    writeFileSync(`${root()}/u/${uni}`, 'uni');
    const l = await list(src, 'u');
    expect(l.get(long)?.size).toBe(4);
    expect(l.get(uni)?.size).toBe(3);
    const { stream } = await src.read(`u/${uni}`);
    expect((await readAll(stream)).toString()).toBe('uni');
  });
});

describe('reads and atomic writes', () => {
  it('round-trips small and large files byte for byte', async () => {
    await src.mkdir('rw');
    for (const size of [0, 1, 1024 * 1024, 1024 * 1024 + 1, 5 * 1024 * 1024 + 7]) {
      const data = randomBytes(size);
      const e = await src.write(`rw/f${size}.bin`, Readable.from([data]), {
        size,
        mtimeMs: 1_600_000_000_123,
        ifMatch: null,
        expectedSha256: sha(data),
      });
      expect(e.size).toBe(size);
      expect(e.mtimeMs).toBe(1_600_000_000_123);
      expect(sha(readFileSync(`${root()}/rw/f${size}.bin`))).toBe(sha(data));
      const r = await src.read(`rw/f${size}.bin`);
      expect(r.entry).toEqual(e);
      expect(sha(await readAll(r.stream))).toBe(sha(data));
    }
    expect(readdirSync(`${root()}/rw`).filter((n) => n.startsWith('~sdsync-'))).toEqual([]);
  });

  it('replaces a file atomically: readers see the old content until the rename', async () => {
    await src.mkdir('atomic');
    const old = randomBytes(3 * 1024 * 1024);
    const first = await src.write('atomic/doc.bin', Readable.from([old]), {
      size: old.length,
      mtimeMs: 1_500_000_000_000,
    });
    await samba.smbclientOk('data', 'setmode root\\atomic\\doc.bin +h');
    const before = (await src.stat('atomic/doc.bin'))!;
    const next = randomBytes(4 * 1024 * 1024);
    const feed = new PassThrough();
    const writing = src.write('atomic/doc.bin', feed, {
      size: next.length,
      mtimeMs: 1_700_000_000_000,
      ifMatch: before.version!,
    });
    feed.write(next.subarray(0, 2 * 1024 * 1024));
    await new Promise((r) => setTimeout(r, 300));
    // Half written: the destination is untouched and the temp file is not listed.
    expect(sha(readFileSync(`${root()}/atomic/doc.bin`))).toBe(sha(old));
    expect([...(await list(src, 'atomic')).keys()]).toEqual(['doc.bin']);
    expect(readdirSync(`${root()}/atomic`).some((n) => n.startsWith('~sdsync-'))).toBe(true);
    feed.end(next.subarray(2 * 1024 * 1024));
    const after = await writing;
    expect(sha(readFileSync(`${root()}/atomic/doc.bin`))).toBe(sha(next));
    expect(after.version).not.toBe(first.version);
    expect(after.mtimeMs).toBe(1_700_000_000_000);
    // The replaced file's hidden attribute is kept.
    expect(after.hidden).toBe(true);
    expect(readdirSync(`${root()}/atomic`)).toEqual(['doc.bin']);
  });

  it('checks preconditions and leaves nothing behind when a write fails', async () => {
    await src.mkdir('pre');
    const a = await src.write('pre/a.txt', Readable.from([Buffer.from('a')]), {
      size: 1,
      mtimeMs: 1_000,
    });
    await expectCode(
      src.write('pre/a.txt', Readable.from([Buffer.from('b')]), {
        size: 1,
        mtimeMs: 1,
        ifMatch: null,
      }),
      ErrorCode.PRECONDITION_FAILED,
    );
    await expectCode(
      src.write('pre/a.txt', Readable.from([Buffer.from('b')]), {
        size: 1,
        mtimeMs: 1,
        ifMatch: `${a.version}x`,
      }),
      ErrorCode.PRECONDITION_FAILED,
    );
    await expectCode(
      src.write('pre/a.txt', Readable.from([Buffer.from('bb')]), { size: 1, mtimeMs: 1 }),
      ErrorCode.CHECKSUM_MISMATCH,
    );
    await expectCode(
      src.write('pre/a.txt', Readable.from([Buffer.from('b')]), {
        size: 1,
        mtimeMs: 1,
        expectedSha256: sha(Buffer.from('c')),
      }),
      ErrorCode.CHECKSUM_MISMATCH,
    );
    // A content stream that fails half way (the engine aborts it when the origin changed).
    const failing = new PassThrough();
    const big = src.write('pre/a.txt', failing, { size: 3 * 1024 * 1024, mtimeMs: 1 });
    failing.write(randomBytes(1024 * 1024));
    setTimeout(() => failing.destroy(new Error('origin changed')), 100);
    await expect(big).rejects.toThrow();
    expect(readFileSync(`${root()}/pre/a.txt`, 'utf8')).toBe('a');
    expect(readdirSync(`${root()}/pre`)).toEqual(['a.txt']);
    await expectCode(
      src.write('pre/missing/x.txt', Readable.from([Buffer.from('x')]), { size: 1, mtimeMs: 1 }),
      ErrorCode.ITEM_NOT_FOUND,
    );
    expect(await src.stat('pre/a.txt')).toEqual(a);
  });

  it('reports a locked file as ITEM_LOCKED and an unreadable one as ITEM_ACCESS_DENIED', async () => {
    await src.mkdir('err');
    await src.write('err/locked.txt', Readable.from([Buffer.from('locked')]), {
      size: 6,
      mtimeMs: 1,
    });
    writeFileSync(`${root()}/err/secret.txt`, 'secret');
    chownSync(`${root()}/err/secret.txt`, 0, 0);
    chmodSync(`${root()}/err/secret.txt`, 0o000);
    const other = await SmbClient.connect(samba.clientOptions(samba.users[1]));
    try {
      const tree = await other.openShare('data');
      const h = await tree.open('root/err/locked.txt', { access: 0x1 | 0x80, shareAccess: 0 });
      try {
        const e = await expectCode(src.read('err/locked.txt'), ErrorCode.ITEM_LOCKED);
        expect(e.action).toBe('skip_item');
      } finally {
        await h.close();
      }
    } finally {
      await other.close();
    }
    const denied = await expectCode(src.read('err/secret.txt'), ErrorCode.ITEM_ACCESS_DENIED);
    expect(denied.action).toBe('skip_item');
    expect((await readAll((await src.read('err/locked.txt')).stream)).toString()).toBe('locked');
  });
});

describe('smb-client statAndRead (one round trip: metadata + first bytes)', () => {
  it('returns the stat and a prefix capped by length, or the whole file', async () => {
    const session = await SmbClient.connect(samba.clientOptions());
    try {
      const tree = await session.openShare('data');
      const data = randomBytes(200_000);
      writeFileSync(`${root()}/sar.bin`, data);
      writeFileSync(`${root()}/empty.bin`, '');
      const whole = await tree.statAndRead('root/sar.bin', { length: 1024 * 1024 });
      expect(whole.data.equals(data)).toBe(true);
      const st = await tree.stat('root/sar.bin');
      // The same as a stat, but for the access time the read itself moves — and the creation
      // time: the file was written on the server's disk directly, so Samba has no stored birth
      // time and reports one derived from the other times, access time included (a CI flake).
      const noAtime = (i: typeof st) => ({
        ...i,
        atime: null,
        birthtime: null,
        times: { ...i.times, lastAccessTime: 0n, creationTime: 0n },
      });
      expect(noAtime(whole.info)).toEqual(noAtime(st));
      expect(whole.info.fileId).not.toBe(0n);
      const head = await tree.statAndRead('root/sar.bin', { length: 1000 });
      expect(head.data.equals(data.subarray(0, 1000))).toBe(true);
      expect(head.info.size).toBe(200_000);
      const dflt = await tree.statAndRead('root/sar.bin');
      expect(dflt.data.length).toBe(65536);
      const empty = await tree.statAndRead('root/empty.bin');
      expect(empty.data.length).toBe(0);
      expect(empty.info.size).toBe(0);
      await expectCode(tree.statAndRead('root/none.bin'), ErrorCode.ITEM_NOT_FOUND);
    } finally {
      await session.close();
    }
  });
});

describe('folders, deletes, moves', () => {
  it('creates nested folders, refuses a file in the way, deletes only what is asked', async () => {
    const f = await src.mkdir('m/a/b/c');
    expect(f).toMatchObject({ kind: 'folder', name: 'c', path: 'm/a/b/c' });
    expect((await src.mkdir('m/a/b/c')).id).toBe(f.id);
    const file = await src.write('m/a/file.txt', Readable.from([Buffer.from('f')]), {
      size: 1,
      mtimeMs: 5,
    });
    await expectCode(src.mkdir('m/a/file.txt'), ErrorCode.NAME_CONFLICT);
    await expectCode(src.delete('m/a/file.txt', { kind: 'folder' }), ErrorCode.PRECONDITION_FAILED);
    await expectCode(
      src.delete('m/a/file.txt', { kind: 'file', ifMatch: 'other' }),
      ErrorCode.PRECONDITION_FAILED,
    );
    await expectCode(src.delete('m/a/b', { kind: 'folder' }), ErrorCode.PRECONDITION_FAILED);
    await src.delete('m/a/file.txt', { kind: 'file', ifMatch: file.version! });
    expect(await src.stat('m/a/file.txt')).toBeNull();
    await src.delete('m/a/file.txt', { kind: 'file' }); // missing = success
    // A folder holding only a stale temp file of ours can be deleted.
    writeFileSync(`${root()}/m/a/b/c/${tempName(1)}`, 'x');
    await src.delete('m/a/b/c', { kind: 'folder' });
    expect(await src.stat('m/a/b/c')).toBeNull();
    await expectCode(src.delete('', { kind: 'folder' }), ErrorCode.PRECONDITION_FAILED);
  });

  it('moves (including a case-only rename) and sets modification times', async () => {
    await src.mkdir('mv');
    const a = await src.write('mv/a.txt', Readable.from([Buffer.from('a')]), {
      size: 1,
      mtimeMs: 9,
    });
    const b = await src.write('mv/b.txt', Readable.from([Buffer.from('b')]), {
      size: 1,
      mtimeMs: 9,
    });
    await expectCode(src.move('mv/a.txt', 'mv/b.txt', {}), ErrorCode.NAME_CONFLICT);
    await expectCode(
      src.move('mv/a.txt', 'mv/c.txt', { ifMatch: 'x' }),
      ErrorCode.PRECONDITION_FAILED,
    );
    const c = await src.move('mv/a.txt', 'mv/c.txt', { ifMatch: a.version! });
    expect(c).toMatchObject({ name: 'c.txt', id: a.id, mtimeMs: 9 });
    const C = await src.move('mv/c.txt', 'mv/C.txt', {});
    expect(C.name).toBe('C.txt');
    const t = await src.setMtime('mv/b.txt', 1_234_567_890_123);
    expect(t.mtimeMs).toBe(1_234_567_890_123);
    expect(t.id).toBe(b.id);
  });

  it('rejects names SMB cannot hold', () => {
    const p = src.capabilities.nameProblem;
    expect(p('ok name.txt', '')).toBeNull();
    for (const bad of [
      'a:b',
      'a*b',
      'q?',
      'x"y',
      'l<r',
      'l>r',
      'p|q',
      'back\\slash',
      'dot.',
      'space ',
      'CON',
      'nul.txt',
      'Com1.log',
      'LPT9',
      'tab\tname',
      'x'.repeat(256),
    ])
      expect(p(bad, '')).not.toBeNull();
    expect(p('~sdsync-abc-0011.tmp', '')).not.toBeNull();
    expect(p('console.txt', '')).toBeNull();
  });
});

describe('permissions', () => {
  it('reads the DACL with names resolved through LSARPC', async () => {
    await src.mkdir('acl');
    await src.write('acl/f.txt', Readable.from([Buffer.from('x')]), { size: 1, mtimeMs: 1 });
    const other = samba.users[1]!;
    const who = `${samba.netbiosName}\\${other.username}`;
    for (const ace of [
      `ACL:${who}:DENIED/0/W`,
      `ACL:${who}:ALLOWED/0/R`,
      'ACL:Everyone:ALLOWED/0/R',
    ])
      expect((await samba.smbcacls('data', 'root/acl/f.txt', ['--add', ace])).code).toBe(0);
    const acl = (await src.readAcl!('acl/f.txt'))!;
    const mine = acl.entries.filter((e) => e.principal.name?.toLowerCase() === who.toLowerCase());
    expect(mine).toContainEqual({
      principal: expect.objectContaining({ kind: 'sid', type: 'user' }),
      type: 'deny',
      permissions: ['WRITE'],
      inherited: false,
      inheritToChildren: false,
    });
    expect(mine).toContainEqual(expect.objectContaining({ type: 'allow', permissions: ['READ'] }));
    expect(acl.entries).toContainEqual(
      expect.objectContaining({
        principal: { kind: 'everyone', id: 'everyone', name: 'Everyone' },
        type: 'allow',
        permissions: ['READ'],
      }),
    );
    const sid = mine[0]!.principal.id;
    const resolved = await src.resolvePrincipals([who, sid]);
    expect(resolved.get(who)).toMatchObject({ sid, type: 'user' });
    expect(resolved.get(sid)?.fullName.toLowerCase()).toBe(who.toLowerCase());
    expect((await src.resolveSids([sid])).get(sid)?.toLowerCase()).toBe(who.toLowerCase());
    expect((await src.resolvePrincipals(['NOBODY\\nobody-here'])).size).toBe(0);
  });

  it('marks inheritable folder ACEs and inherited ones', async () => {
    await src.mkdir('acl/dir');
    const other = samba.users[1]!;
    const who = `${samba.netbiosName}\\${other.username}`;
    expect(
      (await samba.smbcacls('data', 'root/acl/dir', ['--add', `ACL:${who}:ALLOWED/OI|CI/CHANGE`]))
        .code,
    ).toBe(0);
    const dir = (await src.readAcl!('acl/dir'))!;
    expect(dir.entries).toContainEqual(
      expect.objectContaining({
        type: 'allow',
        permissions: ['READ', 'WRITE', 'DELETE', 'CREATE'],
        inherited: false,
        inheritToChildren: true,
      }),
    );
    await src.write('acl/dir/child.txt', Readable.from([Buffer.from('c')]), {
      size: 1,
      mtimeMs: 1,
    });
    const child = (await src.readAcl!('acl/dir/child.txt'))!;
    expect(child.inheritFromParent).toBe(true);
    const byOther = (e: { principal: { name?: string } }) =>
      e.principal.name?.toLowerCase() === who.toLowerCase();
    // The child got the folder's inheritable grant (Samba computes it when the file is created).
    expect(child.entries.filter(byOther)).toContainEqual(
      expect.objectContaining({
        permissions: ['READ', 'WRITE', 'DELETE'],
        inheritToChildren: false,
      }),
    );
    // The INHERITED flag (0x10) is reported as such; inherit-only templates are skipped.
    await src.write('acl/dir/flags.txt', Readable.from([Buffer.from('f')]), {
      size: 1,
      mtimeMs: 1,
    });
    expect(
      (
        await samba.smbcacls('data', 'root/acl/dir/flags.txt', [
          '--set',
          `ACL:${who}:ALLOWED/I/R,ACL:Everyone:ALLOWED/IO/FULL,ACL:${samba.netbiosName}\\${samba.user.username}:ALLOWED/0/FULL`,
        ])
      ).code,
    ).toBe(0);
    const flags = (await src.readAcl!('acl/dir/flags.txt'))!;
    expect(flags.entries).toHaveLength(2);
    expect(flags.entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          permissions: ['READ'],
          inherited: true,
          inheritToChildren: false,
        }),
        expect.objectContaining({
          principal: expect.objectContaining({ type: 'user' }),
          permissions: ['READ', 'WRITE', 'DELETE', 'MANAGE_PERMISSIONS'],
          inherited: false,
        }),
      ]),
    );
  });
});

describe('sessions', () => {
  it('shares one session per connector and re-establishes it after the server restarts', async () => {
    const second = await createSmbSource(config, { pool });
    expect(pool.size).toBe(1);
    const third = await createSmbSource({ ...config, id: newId('cnn') }, { pool });
    expect(pool.size).toBe(2);
    await third.close();
    expect(pool.size).toBe(1);
    await samba.restart();
    // The next request after the drop reconnects (session setup + tree connect) transparently.
    let names: string[] = [];
    for (let i = 0; i < 3 && names.length === 0; i++) {
      try {
        names = [...(await list(second, '')).keys()];
      } catch (err) {
        expect(err).toBeInstanceOf(UnreachableError);
      }
    }
    expect(names).toContain('rw');
    await second.close();
    expect(pool.size).toBe(1); // `src` still holds it
  });

  it('resumes a read cut by a server restart where it stopped', async () => {
    const data = randomBytes(48 << 20);
    writeFileSync(`${root()}/resume.bin`, data);
    chownSync(`${root()}/resume.bin`, samba.user.uid, 100);
    const before = src.stats.readResumes;
    const r = await src.read('resume.bin');
    const hash = createHash('sha256');
    let got = 0;
    let cut = false;
    for await (const c of r.stream) {
      hash.update(c as Buffer);
      got += (c as Buffer).length;
      if (!cut && got >= 8 << 20) {
        cut = true;
        await samba.kill();
        setTimeout(() => void samba.start(), 500);
      }
    }
    expect(got).toBe(data.length);
    expect(hash.digest('hex')).toBe(sha(data));
    expect(src.stats.readResumes).toBe(before + 1);
  }, 90_000);

  it('does not splice a resumed read onto a file that changed while the server was away', async () => {
    const data = randomBytes(32 << 20);
    const file = `${root()}/swapped.bin`;
    writeFileSync(file, data);
    chownSync(file, samba.user.uid, 100);
    const r = await src.read('swapped.bin');
    let got = 0;
    const err = await (async () => {
      try {
        for await (const c of r.stream) {
          got += (c as Buffer).length;
          if (got >= 4 << 20 && got - (c as Buffer).length < 4 << 20) {
            await samba.kill();
            writeFileSync(file, randomBytes(32 << 20));
            setTimeout(() => void samba.start(), 300);
          }
        }
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(ErrorCode.ITEM_CHANGED_DURING_READ);
    expect(got).toBeLessThan(data.length);
  }, 90_000);

  it('fails with typed errors for bad credentials, shares and hosts', async () => {
    await expect(
      createSmbSource({ ...config, id: newId('cnn'), password: 'wrong-Password-1' }, { pool }),
    ).rejects.toBeInstanceOf(AuthFailedError);
    await expectCode(
      createSmbSource({ ...config, id: newId('cnn'), shareName: 'nope' }, { pool }),
      ErrorCode.CONNECTOR_SHARE_NOT_FOUND,
    );
    await expect(
      createSmbSource({ ...config, id: newId('cnn'), serverPort: await freePort() }, { pool }),
    ).rejects.toBeInstanceOf(UnreachableError);
    expect(pool.size).toBe(1);
  });
});
