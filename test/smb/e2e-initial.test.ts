import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '@scaidrive/testkit';
import { bearer } from '../api/harness.js';
import { sha256, startSmbE2E, type SmbE2E, type TreeSnapshot } from './harness.js';

/**
 * An SMB share with a realistic tree, synced into ScaiDrive through the API and a real worker, and
 * compared byte for byte; the `/test` probe's answers for the usual operator mistakes.
 */
let e: SmbE2E;
const BASE = 'Finance';
const TARGET = '/From Fileserver';
const LONG_DIR = `Long ${'d'.repeat(195)}`;
const LONG_FILE = `${'Quarterly report '.repeat(13)}end.pdf`; // 228 characters
const BIG = 100 * 1024 * 1024;

/** Every file on the server with whether the connector must sync it. */
const files: Record<string, { size?: number; synced: boolean }> = {
  'Projects/2026/Q1/Reports/deep/deeper/report.pdf': { synced: true },
  'Projects/2026/Q1/budget.xlsx': { synced: true },
  'Projects/readme.docx': { synced: true },
  'Ünïcödé – 日本語/naïve café ✓.docx': { synced: true },
  'Ünïcödé – 日本語/Ελληνικά.pdf': { synced: true },
  [`${LONG_DIR}/${LONG_FILE}`]: { synced: true },
  'x.docx': { synced: true },
  '~$x.docx': { synced: false }, // Office lock file: excluded by pattern
  'hidden.docx': { synced: false }, // HIDDEN attribute, sync_hidden_files false
  'system.xlsx': { synced: false }, // SYSTEM attribute, sync_system_files false
  'HiddenFolder/inside.pdf': { synced: false },
  '.dotfile.docx': { synced: false }, // Samba reports dot files as hidden
  'notes.txt': { synced: false }, // not an included extension
  'copy.docx.bak': { synced: false }, // excluded extension
  'Scratch/draft.docx': { synced: false }, // excluded folder pattern
  'big/archive.bin': { size: BIG, synced: true },
};
const folders = [
  'Projects',
  'Projects/2026',
  'Projects/2026/Q1',
  'Projects/2026/Q1/Reports',
  'Projects/2026/Q1/Reports/deep',
  'Projects/2026/Q1/Reports/deep/deeper',
  'Ünïcödé – 日本語',
  LONG_DIR,
  'big',
  'empty folder',
].sort();

function expected(): TreeSnapshot {
  const all = e.smbTree('data', BASE);
  const out: TreeSnapshot = { files: {}, folders };
  for (const [p, f] of Object.entries(files)) if (f.synced) out.files[p] = all.files[p]!;
  return out;
}

let id: string;

beforeAll(async () => {
  e = await startSmbE2E();
  const root = e.samba.localPath('data', BASE);
  const uid = e.samba.user.uid;
  for (const [rel, f] of Object.entries(files)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, f.size ? randomBytes(f.size) : `${rel}\n${randomBytes(64).toString('hex')}`);
  }
  mkdirSync(path.join(root, 'empty folder'));
  // Everything belongs to the connector's account (as if created through SMB).
  chownSync(root, uid, 100);
  for (const rel of [...Object.keys(files), ...folders, 'HiddenFolder', 'Scratch'])
    chownSync(path.join(root, rel), uid, 100);
  await e.samba.smbclientOk(
    'data',
    'setmode Finance\\hidden.docx +h; setmode Finance\\system.xlsx +s; setmode Finance\\HiddenFolder +h',
  );
  id = await e.createConnector({
    base_path: BASE,
    target_path: TARGET,
    include_patterns: { extensions: ['pdf', 'DOCX', 'xlsx', 'bin'] },
    exclude_patterns: { patterns: ['~$*', 'Scratch/'], extensions: ['bak'] },
  });
}, 120_000);

afterAll(async () => {
  await e?.close();
});

describe('initial sync of an SMB share', () => {
  it('mirrors the share into ScaiDrive byte for byte, honouring patterns and attributes', async () => {
    const job = await e.sync(id);
    expect(job.message).not.toMatch(/fail/i);
    expect(job.status).toBe('completed');
    expect(job.errorCount).toBe(0);
    const want = expected();
    expect(Object.keys(want.files)).toHaveLength(8);
    expect(await e.shareTree(TARGET)).toEqual(want);
    expect(job.filesSynced).toBe(8);
    expect(Number(job.bytesTransferred)).toBeGreaterThanOrEqual(BIG);
    // Nothing was written back to the share.
    const onServer = e.smbTree('data', BASE);
    expect(Object.keys(onServer.files).sort()).toEqual(Object.keys(files).sort());
  }, 180_000);

  it('keeps excluded items as file states with the reason', async () => {
    const res = await e.api.http
      .get(`/api/v1/smb-connectors/${id}/file-states?status=excluded&limit=100`)
      .set(bearer(e.api.t1.adminToken));
    expect(res.status).toBe(200);
    const byPath = new Map(
      (res.body.file_states as { path: string; status: string }[]).map((s) => [s.path, s]),
    );
    for (const p of [
      '~$x.docx',
      'hidden.docx',
      'system.xlsx',
      'HiddenFolder',
      '.dotfile.docx',
      'notes.txt',
      'copy.docx.bak',
      'Scratch',
    ])
      expect(byPath.get(p)?.status).toBe('excluded');
    const synced = await e.api.http
      .get(`/api/v1/smb-connectors/${id}/file-states?status=synced&limit=100`)
      .set(bearer(e.api.t1.adminToken));
    const big = (synced.body.file_states as { path: string; source: { size: number } }[]).find(
      (s) => s.path === 'big/archive.bin',
    );
    expect(big?.source.size).toBe(BIG);
  });

  it('plans nothing on a second run', async () => {
    const job = await e.sync(id);
    expect(job.status).toBe('completed');
    expect(job.filesSynced).toBe(0);
    expect(job.deletes).toBe(0);
    expect(job.summary?.plan ?? {}).toEqual({});
  });

  it('picks up a new and a changed file written through smbclient', async () => {
    const local = path.join(e.samba.dir, 'upload.pdf');
    writeFileSync(local, 'a new pdf');
    await e.samba.smbclientOk(
      'data',
      `put ${local} "Finance\\Projects\\new.pdf"; put ${local} "Finance\\x.docx"`,
    );
    files['Projects/new.pdf'] = { synced: true };
    const job = await e.sync(id);
    expect(job.filesSynced).toBe(2);
    const t = await e.shareTree(TARGET);
    expect(t.files['Projects/new.pdf']).toBe(sha256('a new pdf'));
    expect(t.files['x.docx']).toBe(sha256('a new pdf'));
    expect(t).toEqual(expected());
  });
});

describe('POST /smb-connectors/{id}/test', () => {
  let probes = 0;
  const test = async (over: Record<string, unknown>) => {
    // Each connector needs a target folder of its own.
    const target_path = `/probe ${++probes}`;
    const cid = await e.createConnector({ base_path: BASE, target_path, ...over });
    const res = await e.api.http
      .post(`/api/v1/smb-connectors/${cid}/test`)
      .set(bearer(e.api.t1.adminToken));
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(e.samba.user.password);
    return res.body as { success: boolean; message: string; error: string | null; details?: any };
  };

  it('connects, logs on, opens the share and lists base_path', async () => {
    const r = await test({});
    expect(r).toMatchObject({ success: true, error: null });
    expect(r.message).toMatch(/^Connected to \\\\127\.0\.0\.1\\data\\Finance as SDTEST\\/);
    expect(r.message).toMatch(/SMB 3\.1\.1/);
    expect(r.details).toMatchObject({ dialect: '3.1.1', entries: 14 });
  });

  it('names the problem: share, path, password, host', async () => {
    const share = await test({ share_name: 'Finanse' });
    expect(share).toMatchObject({ success: false, error: 'CONNECTOR_SHARE_NOT_FOUND' });
    expect(share.message).toMatch(/share "Finanse" does not exist.*share_name/);
    const folder = await test({ base_path: 'Finance/2027' });
    expect(folder).toMatchObject({ success: false, error: 'CONNECTOR_SHARE_NOT_FOUND' });
    expect(folder.message).toMatch(/folder "Finance\/2027" does not exist.*base_path/);
    const file = await test({ base_path: 'Finance/x.docx' });
    expect(file.message).toMatch(/is a file, not a folder/);
    const auth = await test({ password: 'Not-The-Password-1' });
    expect(auth).toMatchObject({ success: false, error: 'CONNECTOR_AUTH_FAILED' });
    expect(auth.message).toMatch(/rejected the logon of SDTEST\\.*STATUS_LOGON_FAILURE/);
    const down = await test({ server_port: await freePort() });
    expect(down).toMatchObject({ success: false, error: 'CONNECTOR_UNREACHABLE' });
    expect(down.message).toMatch(/connection refused/);
  });

  it('a sync with rejected credentials fails the job and marks the connector', async () => {
    const cid = await e.createConnector({
      base_path: BASE,
      target_path: '/auth',
      password: 'Not-The-Password-2',
    });
    const job = await e.sync(cid);
    expect(job.status).toBe('failed');
    const c = await e.api.http
      .get(`/api/v1/smb-connectors/${cid}`)
      .set(bearer(e.api.t1.adminToken));
    expect(c.body.status).toBe('error');
    expect(c.body.status_message).toMatch(/authentication failed/i);
    expect(JSON.stringify(c.body)).not.toContain('Not-The-Password-2');
  });
});
