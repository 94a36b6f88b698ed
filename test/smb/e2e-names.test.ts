import { chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer } from '../api/harness.js';
import { readAll, startSmbE2E, type SmbE2E } from './harness.js';

/**
 * Names an NTFS or Samba share can hold and ScaiDrive cannot: a name with an unpaired UTF-16
 * surrogate (Samba serves the CESU-8 bytes ED A0 80 on disk as U+D800), next to a file whose name
 * has a real U+FFFD — the character a careless conversion would turn the first into.
 */
let e: SmbE2E;
let dir: string;
const LONE = Buffer.from('lone-\xed\xa0\x80.txt', 'latin1');
const FFFD = Buffer.from('lone-\ufffd.txt', 'utf8');
const OK = Buffer.from('ok.txt');
const onDisk = (name: Buffer) => Buffer.concat([Buffer.from(`${dir}/`), name]);

beforeAll(async () => {
  e = await startSmbE2E();
  dir = e.samba.localPath('data', 'names');
  mkdirSync(dir);
  chownSync(dir, e.samba.user.uid, 100);
  for (const [name, body] of [
    [LONE, 'the lone surrogate file'],
    [FFFD, 'the U+FFFD file'],
    [OK, 'ok'],
  ] as const) {
    writeFileSync(onDisk(name), body);
    chownSync(onDisk(name), e.samba.user.uid, 100);
  }
});
afterAll(async () => {
  await e?.close();
});

describe('a name with an unpaired surrogate on the share', () => {
  it('is an error of its own item, run after run, and never takes the place of another file', async () => {
    const id = await e.createConnector({ base_path: 'names', target_path: '/names' });
    const states = async () =>
      (await e.api.db.prisma.fileState.findMany({ where: { connectorId: id } }))
        .map((r) => ({ id: r.id, status: r.status, updatedAt: r.updatedAt.getTime() }))
        .sort((a, b) => a.id.localeCompare(b.id));

    const first = await e.sync(id);
    expect(first).toMatchObject({ status: 'completed', filesSynced: 2, errorCount: 1 });
    expect(first.summary?.errors).toEqual([
      expect.objectContaining({ code: 'NAME_INVALID', path: 'lone-\ufffd.txt' }),
    ]);
    // ScaiDrive got the U+FFFD file with its own bytes; the other one is not there under any name.
    const target = e.target('/names');
    const names: string[] = [];
    for await (const x of target.list('')) names.push(x.name);
    expect(names.sort()).toEqual(['lone-\ufffd.txt', 'ok.txt']);
    const got = await readAll((await target.read('lone-\ufffd.txt')).stream);
    expect(got.toString()).toBe('the U+FFFD file');
    const after1 = await states();
    expect(after1.map((s) => s.status).sort()).toEqual(['error', 'synced', 'synced']);

    // The API shows the error row (its name well-formed, the surrogate as U+FFFD).
    const errors = await e.api.http
      .get(`/api/v1/smb-connectors/${id}/file-states?status=error`)
      .set(bearer(e.api.t1.adminToken));
    expect(errors.status).toBe(200);
    expect(errors.body.file_states).toEqual([
      expect.objectContaining({
        path: 'lone-\ufffd.txt',
        last_error_code: 'NAME_INVALID',
        last_error: expect.stringContaining('"lone-\ufffd.txt" cannot be created'),
        type: 'file',
      }),
    ]);

    // Again: the same error, the same rows, none rewritten, nothing transferred either way.
    const second = await e.sync(id);
    expect(second).toMatchObject({ status: 'completed', filesSynced: 0, errorCount: 1 });
    expect(await states()).toEqual(after1);
    const onShare = readdirSync(Buffer.from(dir), { encoding: 'buffer' }).map((n) =>
      n.toString('hex'),
    );
    expect(onShare.sort()).toEqual([LONE, FFFD, OK].map((n) => n.toString('hex')).sort());
    expect(readFileSync(onDisk(LONE), 'utf8')).toBe('the lone surrogate file');
    expect(readFileSync(onDisk(FFFD), 'utf8')).toBe('the U+FFFD file');
  });
});

describe('a name with a backslash on the share (legal on Linux, SMB’s path separator)', () => {
  it('never reaches ScaiDrive as a path: Samba serves it mangled, and the rest of the folder syncs', async () => {
    const bs = e.samba.localPath('data', 'backslash');
    mkdirSync(bs);
    chownSync(bs, e.samba.user.uid, 100);
    for (const [name, body] of [
      ['a\\b.txt', 'backslash'],
      ['plain.txt', 'plain'],
    ] as const) {
      writeFileSync(`${bs}/${name}`, body);
      chownSync(`${bs}/${name}`, e.samba.user.uid, 100);
    }
    const id = await e.createConnector({ base_path: 'backslash', target_path: '/backslash' });
    const run = await e.sync(id);
    expect(run.status).toBe('completed');
    const target = e.target('/backslash');
    const names: string[] = [];
    for await (const x of target.list('')) names.push(x.name);
    // Two files: plain.txt and the other under the 8.3 name Samba made up for it.
    expect(names).toHaveLength(2);
    expect(names).toContain('plain.txt');
    expect(names.filter((n) => n.includes('\\'))).toEqual([]);
    // Whatever name Samba served for it, its bytes are its own (nothing else was written there).
    for (const n of names.filter((x) => x !== 'plain.txt')) {
      const got = await readAll((await target.read(n)).stream);
      expect(got.toString()).toBe('backslash');
    }
    // Nothing on the share was touched.
    expect(readFileSync(`${bs}/a\\b.txt`, 'utf8')).toBe('backslash');
  });
});
