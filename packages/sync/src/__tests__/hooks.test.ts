import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { AclMapper } from '../options.js';
import type { AclSnapshot, FileTree, TargetAce, VersionInfo } from '../ports.js';
import { World } from './harness.js';

let w: World;
afterEach(async () => w?.cleanup());

function extend(
  tree: FileTree,
  extra: Record<string, unknown>,
  caps: Record<string, unknown>,
): FileTree {
  return new Proxy(tree, {
    get(t, prop, receiver) {
      if (prop === 'capabilities') return { ...t.capabilities, ...caps };
      if (prop in extra) return extra[prop as string];
      const v = Reflect.get(t, prop, receiver);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

const ace = (
  id: string,
  perms: TargetAce['permissions'] = ['READ'],
): AclSnapshot['entries'][number] => ({
  principal: { kind: 'sid', id },
  type: 'allow',
  permissions: perms,
  inherited: false,
  inheritToChildren: true,
});

const mapAcl: AclMapper = (snap) => ({
  entries: snap.entries
    .filter((e) => e.principal.id === 'S-1-5-21-1')
    .map((e) => ({
      principalType: 'user' as const,
      principalId: 'usr_1',
      aceType: e.type,
      permissions: e.permissions,
      inheritToChildren: e.inheritToChildren,
    })),
  unmapped: snap.entries.filter((e) => e.principal.id !== 'S-1-5-21-1').map((e) => e.principal),
});

describe('permissions, metadata and versions', () => {
  it('mirrors mapped ACLs and metadata source → target, writing only changes', async () => {
    const acls = new Map<string, AclSnapshot>();
    const meta = new Map<string, Record<string, unknown>>();
    const written: { acl: [string, unknown][]; meta: [string, unknown][] } = { acl: [], meta: [] };
    w = await World.create({
      wrapSource: (t) =>
        extend(
          t,
          {
            readAcl: async (p: string) => acls.get(p) ?? null,
            readMetadata: async (p: string) => meta.get(p) ?? null,
          },
          { readAcl: true, metadata: true },
        ),
      wrapTarget: (t) =>
        extend(
          t,
          {
            writeAcl: async (p: string, acl: unknown) => void written.acl.push([p, acl]),
            writeMetadata: async (p: string, m: unknown) => void written.meta.push([p, m]),
          },
          { writeAcl: true, metadata: true },
        ),
    });
    await w.write('source', 'd/a.txt', 'a');
    acls.set('d', { inheritFromParent: false, entries: [ace('S-1-5-21-1', ['READ', 'WRITE'])] });
    acls.set('d/a.txt', {
      inheritFromParent: true,
      entries: [ace('S-1-5-21-1'), ace('S-1-5-21-2')],
    });
    meta.set('d/a.txt', { Title: 'A', Tags: ['x'] });
    const options = { syncPermissions: true, mapAcl, syncMetadata: true };
    const r1 = await w.sync(options);
    expect(r1.summary.status).toBe('completed');
    expect(written.acl.map(([p]) => p).sort()).toEqual(['d', 'd/a.txt']);
    expect(written.acl.find(([p]) => p === 'd/a.txt')?.[1]).toEqual({
      inheritFromParent: true,
      entries: [
        {
          principalType: 'user',
          principalId: 'usr_1',
          aceType: 'allow',
          permissions: ['READ'],
          inheritToChildren: true,
        },
      ],
    });
    expect(r1.summary.unmappedPrincipals).toEqual([{ kind: 'sid', id: 'S-1-5-21-2' }]);
    expect(written.meta).toEqual([['d/a.txt', { Title: 'A', Tags: ['x'] }]]);
    expect((await w.state.get('d/a.txt'))?.aclHash).toMatch(/^sha256:/);

    const r2 = await w.sync(options);
    expect(written.acl).toHaveLength(2);
    expect(written.meta).toHaveLength(1);
    expect(r2.writes).toBe(0);
    expect(r2.plan).toEqual([]);

    acls.set('d/a.txt', {
      inheritFromParent: true,
      entries: [ace('S-1-5-21-1', ['READ', 'DELETE'])],
    });
    meta.set('d/a.txt', { Tags: ['x'], Title: 'A' }); // same fields, other order: no write
    const r3 = await w.sync(options);
    expect(written.acl).toHaveLength(3);
    expect(written.meta).toHaveLength(1);
    expect(r3.writes).toBe(1);
  });

  it('imports the source version history once, oldest first, when a file is first copied', async () => {
    const added: { path: string; origin: string; mtimeMs: number; body: string }[] = [];
    const versions: VersionInfo[] = [
      { id: '2.0', size: 2, mtimeMs: 2_000, current: false },
      { id: '1.0', size: 2, mtimeMs: 1_000, current: false },
      { id: '3.0', size: 3, mtimeMs: 3_000, current: true },
    ];
    w = await World.create({
      wrapSource: (t) =>
        extend(
          t,
          {
            listVersions: async () => versions,
            readVersion: async (_p: string, id: string) => ({
              stream: Readable.from([Buffer.from(`v${id[0]}`)]),
              entry: { name: 'f', path: 'f', kind: 'file', size: 2, mtimeMs: 0 },
            }),
          },
          { versions: true },
        ),
      wrapTarget: (t) =>
        extend(
          t,
          {
            addVersion: async (
              path: string,
              content: Readable,
              o: { origin: string; mtimeMs: number },
            ) => {
              let body = '';
              for await (const c of content) body += String(c);
              added.push({ path, origin: o.origin, mtimeMs: o.mtimeMs, body });
            },
          },
          { importVersions: true },
        ),
    });
    await w.write('source', 'f.txt', 'cur');
    await w.sync({ syncVersions: true });
    expect(added).toEqual([
      { path: 'f.txt', origin: 'smb:1.0', mtimeMs: 1_000, body: 'v1' },
      { path: 'f.txt', origin: 'smb:2.0', mtimeMs: 2_000, body: 'v2' },
    ]);
    await w.write('source', 'f.txt', 'cur2');
    await w.sync({ syncVersions: true });
    expect(added).toHaveLength(2); // not a first copy
  });
});
