import { chownSync, mkdirSync, readdirSync, readFileSync, lstatSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { putScaiDrive, readAll, startSmbE2E, type JobRow, type SmbE2E } from './harness.js';

/**
 * Every direction × every conflict strategy, end to end (API + worker + Samba): one connector per
 * combination, each on its own folder of the share and of ScaiDrive. One round of edits on both
 * sides — edit on SMB (smbclient), edit in ScaiDrive (share store), edit both, delete on each side,
 * delete on one side while the other edits, rename a folder on each side — then one sync, the
 * DESIGN.md §6 outcome on both sides, and a second sync that plans nothing.
 */
const DIRECTIONS = ['bidirectional', 'smb_to_scaidrive', 'scaidrive_to_smb'] as const;
const STRATEGIES = [
  'LAST_WRITER_WINS',
  'KEEP_BOTH',
  'SERVER_WINS',
  'CLIENT_WINS',
  'MANUAL',
] as const;
type Direction = (typeof DIRECTIONS)[number];
type Strategy = (typeof STRATEGIES)[number];

interface Combo {
  direction: Direction;
  strategy: Strategy;
  name: string;
  id: string;
}

const INITIAL: Record<string, string> = {
  'same.txt': 'same',
  'a.txt': 'a0', // edited on SMB
  'b.txt': 'b0', // edited in ScaiDrive
  'c.txt': 'c0', // edited on both (SMB later)
  'g.txt': 'g0', // edited on both (ScaiDrive later)
  'd.txt': 'd0', // deleted on SMB
  'e.txt': 'e0', // deleted in ScaiDrive
  'f.txt': 'f0', // deleted in ScaiDrive, edited on SMB
  'h.txt': 'h0', // deleted on SMB, edited in ScaiDrive
  'R1/r.txt': 'r1', // R1 renamed to R1x on SMB
  'R2/r.txt': 'r2', // R2 renamed to R2x in ScaiDrive
};

let e: SmbE2E;
const combos: Combo[] = [];
const HOUR = 3600_000;
let t0: number;

const base = (c: Combo) => `modes/${c.name}`;
const root = (c: Combo) => `/modes/${c.name}`;

function smbFiles(c: Combo): Record<string, string> {
  const dir = e.samba.localPath('data', base(c));
  const out: Record<string, string> = {};
  const walk = (abs: string, prefix: string) => {
    for (const n of readdirSync(abs)) {
      const p = prefix ? `${prefix}/${n}` : n;
      if (lstatSync(path.join(abs, n)).isDirectory()) walk(path.join(abs, n), p);
      else out[p] = readFileSync(path.join(abs, n), 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

async function sdFiles(c: Combo): Promise<Record<string, string>> {
  const t = e.target(root(c));
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for await (const x of t.list(rel)) {
      if (x.kind === 'folder') await walk(x.path);
      else out[x.path] = (await readAll((await t.read(x.path)).stream)).toString();
    }
  };
  await walk('');
  return out;
}

function sorted(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Conflict copies (`name (conflict YYYY-MM-DD HHmmss from <side>).ext`) by side label. */
function conflictCopies(files: Record<string, string>, stem: string): Record<string, string> {
  const re = new RegExp(
    `^${stem} \\(conflict \\d{4}-\\d{2}-\\d{2} \\d{6} from (smb|scaidrive)\\)\\.txt$`,
  );
  const out: Record<string, string> = {};
  for (const [p, v] of Object.entries(files)) {
    const m = re.exec(p);
    if (m) out[m[1]!] = v;
  }
  return out;
}

/** Contents of every version of a ScaiDrive file, current included. */
async function versionContents(c: Combo, rel: string): Promise<string[]> {
  const t = e.target(root(c));
  const out: string[] = [];
  for (const v of await t.listVersions!(rel))
    out.push((await readAll((await t.readVersion!(rel, v.id)).stream)).toString());
  return out;
}

function withoutConflicts(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).filter(([p]) => !p.includes(' (conflict ')));
}

const jobs = new Map<string, JobRow>();

beforeAll(async () => {
  e = await startSmbE2E({ env: { WORKER_CONCURRENCY: '5' } });
  const uid = e.samba.user.uid;
  const modes = e.samba.localPath('data', 'modes');
  mkdirSync(modes);
  chownSync(modes, uid, 100);
  t0 = Date.now() - 10 * HOUR;
  for (const direction of DIRECTIONS)
    for (const strategy of STRATEGIES) {
      const name = `${direction}-${strategy}`;
      const c: Combo = { direction, strategy, name, id: '' };
      for (const [rel, content] of Object.entries(INITIAL)) {
        const abs = path.join(modes, name, rel);
        mkdirSync(path.dirname(abs), { recursive: true });
        writeFileSync(abs, content);
      }
      for (const p of [
        name,
        `${name}/R1`,
        `${name}/R2`,
        ...Object.keys(INITIAL).map((r) => `${name}/${r}`),
      ])
        chownSync(path.join(modes, p), uid, 100);
      c.id = await e.createConnector({
        name,
        base_path: base(c),
        target_path: root(c),
        sync_direction: direction,
        conflict_resolution: strategy,
      });
      combos.push(c);
    }
  // Initial sync: ScaiDrive gets everything (for scaidrive_to_smb the share is the destination, so
  // its files are adopted only when equal — ScaiDrive is empty, so nothing moves there; seed it).
  const first = await e.syncAll(combos.map((c) => c.id));
  for (const j of first) expect(j.status).toBe('completed');
}, 300_000);

afterAll(async () => {
  await e?.close();
});

describe('each direction × strategy', () => {
  it('starts from identical trees', async () => {
    for (const c of combos) {
      if (c.direction === 'scaidrive_to_smb') {
        // ScaiDrive is the origin and was empty: the share's files were left alone as untracked.
        expect(await sdFiles(c)).toEqual({});
        continue;
      }
      expect(sorted(await sdFiles(c))).toEqual(sorted(INITIAL));
    }
  });

  it('seeds the ScaiDrive origin of scaidrive_to_smb connectors and adopts equal files', async () => {
    const s2s = combos.filter((c) => c.direction === 'scaidrive_to_smb');
    for (const c of s2s) {
      const t = e.target(root(c));
      for (const [rel, content] of Object.entries(INITIAL)) await putScaiDrive(t, rel, content, t0);
    }
    const res = await e.syncAll(s2s.map((c) => c.id));
    for (const j of res) {
      expect(j.status).toBe('completed');
      expect(j.errorCount).toBe(0);
    }
    for (const c of s2s) {
      expect(sorted(smbFiles(c))).toEqual(sorted(INITIAL));
      expect(sorted(await sdFiles(c))).toEqual(sorted(INITIAL));
    }
  });

  it('applies one round of edits on both sides with the §6 outcome', async () => {
    const now = Date.now();
    const local = (name: string, content: string) => {
      const p = path.join(e.samba.dir, `${name}-${Math.random().toString(36).slice(2)}`);
      writeFileSync(p, content);
      return p;
    };
    for (const c of combos) {
      const b = base(c).replaceAll('/', '\\');
      // SMB side, through smbclient (modification time: now).
      await e.samba.smbclientOk(
        'data',
        [
          `put ${local('a', 'a1')} ${b}\\a.txt`,
          `put ${local('c', 'c-smb')} ${b}\\c.txt`,
          `put ${local('g', 'g-smb')} ${b}\\g.txt`,
          `put ${local('f', 'f-smb')} ${b}\\f.txt`,
          `del ${b}\\d.txt`,
          `del ${b}\\h.txt`,
          `rename ${b}\\R1 ${b}\\R1x`,
        ].join('; '),
      );
      // ScaiDrive side, as a user would (c older than the SMB edit, g newer).
      const t = e.target(root(c));
      await putScaiDrive(t, 'b.txt', 'b1', now);
      await putScaiDrive(t, 'c.txt', 'c-sd', now - HOUR);
      await putScaiDrive(t, 'g.txt', 'g-sd', now + HOUR);
      await putScaiDrive(t, 'h.txt', 'h-sd', now);
      await t.delete('e.txt', { kind: 'file' });
      await t.delete('f.txt', { kind: 'file' });
      await t.move!('R2', 'R2x', {});
    }
    const res = await e.syncAll(combos.map((c) => c.id));
    combos.forEach((c, i) => jobs.set(c.name, res[i]!));
    for (const j of res) {
      expect(j.status).toBe('completed');
      expect(j.errorCount).toBe(0);
    }
  }, 300_000);

  describe.each(DIRECTIONS)('%s', (direction) => {
    it.each(STRATEGIES)('%s', async (strategy) => {
      const c = combos.find((x) => x.direction === direction && x.strategy === strategy)!;
      const smb = smbFiles(c);
      const sd = await sdFiles(c);
      const job = jobs.get(c.name)!;
      const plain = { smb: withoutConflicts(smb), sd: withoutConflicts(sd) };
      if (direction === 'bidirectional') {
        // Non-conflicting changes flow both ways; deletes too; a change beats a delete.
        const common = {
          'same.txt': 'same',
          'a.txt': 'a1',
          'b.txt': 'b1',
          'f.txt': 'f-smb',
          'h.txt': 'h-sd',
          'R1x/r.txt': 'r1',
          'R2x/r.txt': 'r2',
        };
        expect(plain.smb).toMatchObject(common);
        expect(plain.sd).toMatchObject(common);
        for (const gone of ['d.txt', 'e.txt', 'R1/r.txt', 'R2/r.txt']) {
          expect(smb[gone]).toBeUndefined();
          expect(sd[gone]).toBeUndefined();
        }
        const both = {
          LAST_WRITER_WINS: { c: 'c-smb', g: 'g-sd' }, // the newer side wins
          KEEP_BOTH: { c: 'c-smb', g: 'g-sd' }, // newer keeps the name, the other is a copy
          SERVER_WINS: { c: 'c-sd', g: 'g-sd' }, // ScaiDrive wins
          CLIENT_WINS: { c: 'c-smb', g: 'g-smb' }, // the share wins
          MANUAL: null,
        }[strategy];
        if (both) {
          for (const side of [plain.smb, plain.sd]) {
            expect(side['c.txt']).toBe(both.c);
            expect(side['g.txt']).toBe(both.g);
          }
          expect(job.conflicts).toBe(2);
        } else {
          // MANUAL: nothing moves; the file states wait for an operator.
          expect([plain.smb['c.txt'], plain.sd['c.txt']]).toEqual(['c-smb', 'c-sd']);
          expect([plain.smb['g.txt'], plain.sd['g.txt']]).toEqual(['g-smb', 'g-sd']);
          const states = await e.api.db.prisma.fileState.findMany({
            where: { connectorId: c.id, status: 'conflict' },
          });
          expect(states.map((s) => s.path).sort()).toEqual(['c.txt', 'g.txt']);
        }
        // A loser's bytes are never discarded: ScaiDrive keeps them as an older version; the share
        // (no history) gets a conflict copy, synced like any file. KEEP_BOTH copies either loser.
        const copies = { c: conflictCopies(smb, 'c'), g: conflictCopies(smb, 'g') };
        const wantCopies = {
          LAST_WRITER_WINS: { c: {}, g: { smb: 'g-smb' } },
          KEEP_BOTH: { c: { scaidrive: 'c-sd' }, g: { smb: 'g-smb' } },
          SERVER_WINS: { c: { smb: 'c-smb' }, g: { smb: 'g-smb' } },
          CLIENT_WINS: { c: {}, g: {} },
          MANUAL: { c: {}, g: {} },
        }[strategy];
        expect(copies).toEqual(wantCopies);
        expect({ c: conflictCopies(sd, 'c'), g: conflictCopies(sd, 'g') }).toEqual(
          strategy === 'MANUAL' ? { c: {}, g: {} } : wantCopies,
        );
        const versionsHold = {
          LAST_WRITER_WINS: { c: 'c-sd' },
          KEEP_BOTH: {},
          SERVER_WINS: {},
          CLIENT_WINS: { c: 'c-sd', g: 'g-sd' },
          MANUAL: {},
        }[strategy];
        for (const [stem, content] of Object.entries(versionsHold))
          expect(await versionContents(c, `${stem}.txt`)).toContain(content);
      } else if (direction === 'smb_to_scaidrive') {
        // The share is the origin: ScaiDrive mirrors it; ScaiDrive edits lose (kept as versions).
        expect(plain.smb).toEqual({
          'same.txt': 'same',
          'a.txt': 'a1',
          'b.txt': 'b0',
          'c.txt': 'c-smb',
          'g.txt': 'g-smb',
          'e.txt': 'e0',
          'f.txt': 'f-smb',
          'R1x/r.txt': 'r1',
          'R2/r.txt': 'r2',
        });
        // ScaiDrive: the same, plus its own rename target R2x, which is not the origin's business.
        expect(plain.sd).toEqual({ ...plain.smb, 'R2x/r.txt': 'r2' });
        expect(Object.keys(smb).filter((p) => p.includes('(conflict'))).toEqual([]);
        expect(Object.keys(sd).filter((p) => p.includes('(conflict'))).toEqual([]);
        // The overwritten ScaiDrive edits stay as older versions.
        expect(await versionContents(c, 'b.txt')).toContain('b1');
        expect(await versionContents(c, 'c.txt')).toContain('c-sd');
        expect(await versionContents(c, 'g.txt')).toContain('g-sd');
      } else {
        // ScaiDrive is the origin: the share mirrors it; the share's own edits lose — and as the
        // share keeps no history, the engine keeps a conflict copy there rather than discard them.
        expect(plain.sd).toEqual({
          'same.txt': 'same',
          'a.txt': 'a0',
          'b.txt': 'b1',
          'c.txt': 'c-sd',
          'g.txt': 'g-sd',
          'd.txt': 'd0',
          'h.txt': 'h-sd',
          'R1/r.txt': 'r1',
          'R2x/r.txt': 'r2',
        });
        expect(plain.smb).toEqual({ ...plain.sd, 'R1x/r.txt': 'r1' });
        expect(conflictCopies(smb, 'a')).toEqual({ smb: 'a1' });
        expect(conflictCopies(smb, 'c')).toEqual({ smb: 'c-smb' });
        expect(conflictCopies(smb, 'g')).toEqual({ smb: 'g-smb' });
        expect(conflictCopies(smb, 'f')).toEqual({ smb: 'f-smb' });
        expect(Object.keys(sd).filter((p) => p.includes('(conflict'))).toEqual([]);
      }
    });
  });

  it('plans nothing on the next run', async () => {
    const res = await e.syncAll(combos.map((c) => c.id));
    res.forEach((j, i) => {
      const c = combos[i]!;
      expect({ name: c.name, status: j.status, synced: j.filesSynced, deletes: j.deletes }).toEqual(
        {
          name: c.name,
          status: 'completed',
          synced: 0,
          deletes: 0,
        },
      );
      expect({ name: c.name, plan: j.summary?.plan ?? {} }).toEqual({ name: c.name, plan: {} });
    });
  }, 300_000);
});
