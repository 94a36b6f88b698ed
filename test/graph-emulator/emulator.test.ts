import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { ConfidentialClientApplication } from '@azure/msal-node';
import {
  startGraphEmulator,
  installLoopbackGuard,
  emulatorQuickXor,
  type GraphEmulator,
  type LoopbackGuard,
} from './index.js';

// The emulator's own behaviour, with raw HTTPS (fetch) and MSAL: the witness is checked first.
let emu: GraphEmulator;
let guard: LoopbackGuard;
let tenantId: string;
let driveId: string;
const clientId = '22222222-0000-0000-0000-000000000001';
const secret = 'emu-secret';

async function token(): Promise<string> {
  const r = await fetch(`${emu.authorityHost}/${tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
      scope: `${emu.graphBaseUrl}/.default`,
    }),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as any as { access_token: string }).access_token;
}

async function jsonOf(r: Promise<Response>): Promise<any> {
  return (await r).json();
}

async function graph(path: string, init: RequestInit & { token?: string } = {}) {
  const t = init.token ?? (await token());
  return fetch(path.startsWith('https:') ? path : `${emu.graphBaseUrl}/v1.0${path}`, {
    ...init,
    redirect: 'manual',
    headers: { authorization: `Bearer ${t}`, ...(init.headers as Record<string, string>) },
  });
}

beforeAll(async () => {
  guard = installLoopbackGuard();
  emu = await startGraphEmulator();
  const t = emu.model.addTenant();
  tenantId = t.id;
  emu.model.addApp(tenantId, { clientId, secret });
  emu.model.addUser(tenantId, { displayName: 'Alice Example', mail: 'alice@contoso.example' });
  emu.model.addUser(tenantId, { displayName: 'Bob Builder', mail: 'bob@contoso.example' });
  emu.model.addGroup(tenantId, {
    displayName: 'Marketing Team',
    mail: 'marketing@contoso.example',
  });
  const { drive } = emu.model.addSite(tenantId, { path: '/sites/marketing' });
  driveId = drive.id;
});

afterAll(async () => {
  await emu.close();
  guard.dispose();
});

describe('graph emulator', () => {
  it('issues tokens through MSAL with an IP authority and no discovery outside loopback', async () => {
    const app = new ConfidentialClientApplication({
      auth: {
        clientId,
        clientSecret: secret,
        authority: `${emu.authorityHost}/${tenantId}`,
        knownAuthorities: [new URL(emu.authorityHost).host],
      },
    });
    const r = await app.acquireTokenByClientCredential({
      scopes: [`${emu.graphBaseUrl}/.default`],
    });
    expect(r?.accessToken).toMatch(/^ey/);
    const bad = new ConfidentialClientApplication({
      auth: {
        clientId,
        clientSecret: 'wrong',
        authority: `${emu.authorityHost}/${tenantId}`,
        knownAuthorities: [new URL(emu.authorityHost).host],
      },
    });
    await expect(
      bad.acquireTokenByClientCredential({ scopes: [`${emu.graphBaseUrl}/.default`] }),
    ).rejects.toMatchObject({ errorCode: 'invalid_client' });
  });

  it('resolves a site by path and lists its libraries', async () => {
    const site = await jsonOf(graph('/sites/contoso.sharepoint.com:/sites/marketing'));
    expect(site.id).toMatch(/^contoso\.sharepoint\.com,/);
    const drives = await jsonOf(graph(`/sites/${site.id}/drives`));
    expect(drives.value.map((d: { name: string }) => d.name)).toEqual(['Documents']);
    expect((await graph('/sites/contoso.sharepoint.com:/sites/nope')).status).toBe(404);
  });

  it('uploads, lists with paging, downloads through a separate host that rejects bearer tokens', async () => {
    const put = await graph(`/drives/${driveId}/root:/Docs/a%23b.txt:/content`, {
      method: 'PUT',
      body: 'hello world',
    });
    expect(put.status).toBe(201);
    const item = (await put.json()) as any;
    expect(item.name).toBe('a#b.txt');
    expect(item.file.hashes.quickXorHash).toBe('aCgDG9jwBhDc4Q1yawMZAAAAAAA=');
    for (let i = 0; i < 5; i++) emu.model.putFile(driveId, `Docs/f${i}.txt`, `x${i}`);
    const page1 = await jsonOf(graph(`/drives/${driveId}/root:/Docs:/children?$top=4`));
    expect(page1.value).toHaveLength(4);
    const page2 = await jsonOf(graph(page1['@odata.nextLink']));
    expect(page2.value).toHaveLength(2);
    expect(page2['@odata.nextLink']).toBeUndefined();

    const content = await graph(`/drives/${driveId}/items/${item.id}/content`);
    expect(content.status).toBe(302);
    const location = content.headers.get('location')!;
    expect(new URL(location).hostname).toBe('127.0.0.2');
    const withBearer = await fetch(location, { headers: { authorization: 'Bearer x' } });
    expect(withBearer.status).toBe(401);
    const plain = await fetch(location);
    expect(await plain.text()).toBe('hello world');
  });

  it('pages delta in a stable snapshot, reports moves and deletes, and expires tokens with 410', async () => {
    const first = await jsonOf(graph(`/drives/${driveId}/root/delta?$top=3`));
    expect(first.value).toHaveLength(3);
    // A change during the round is not in this round's pages.
    emu.model.putFile(driveId, 'Later.txt', 'later');
    let page = first;
    const seen: string[] = first.value.map((v: { name: string }) => v.name);
    while (page['@odata.nextLink']) {
      page = await jsonOf(graph(page['@odata.nextLink']));
      seen.push(...page.value.map((v: { name: string }) => v.name));
    }
    expect(seen).not.toContain('Later.txt');
    expect(seen).toContain('a#b.txt');
    const deltaLink = page['@odata.deltaLink'];
    emu.model.move(driveId, 'Docs/f0.txt', 'Moved/f0-renamed.txt');
    emu.model.remove(driveId, 'Docs/f1.txt');
    const inc = { value: [] as any[] };
    let next: string | undefined = deltaLink;
    while (next) {
      const pg: any = await jsonOf(graph(next));
      inc.value.push(...pg.value);
      next = pg['@odata.nextLink'];
    }
    const names = inc.value.map((v: { name?: string; deleted?: unknown }) => v.name ?? 'DELETED');
    expect(names).toEqual(expect.arrayContaining(['Later.txt', 'f0-renamed.txt', 'DELETED']));
    expect(
      inc.value.find((v: { name?: string }) => v.name === 'f0-renamed.txt').parentReference.path,
    ).toBeUndefined();

    const latest = await jsonOf(graph(`/drives/${driveId}/root/delta?token=latest`));
    expect(latest.value).toEqual([]);
    emu.model.expireDeltaTokens(driveId);
    const gone = await graph(latest['@odata.deltaLink']);
    expect(gone.status).toBe(410);
    expect(gone.headers.get('location')).toContain('/root/delta');
    expect(((await gone.json()) as any).error.code).toBe('resyncRequired');
  });

  it('runs an upload session in 320 KiB fragments and refuses bearer tokens on the upload URL', async () => {
    const size = 320 * 1024 * 2 + 100;
    const data = Buffer.alloc(size, 7);
    const s = await jsonOf(
      graph(`/drives/${driveId}/root:/big.bin:/createUploadSession`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item: { '@microsoft.graph.conflictBehavior': 'replace' } }),
      }),
    );
    const url = s.uploadUrl as string;
    expect(new URL(url).hostname).toBe('127.0.0.2');
    const put = (a: number, b: number, headers: Record<string, string> = {}) =>
      fetch(url, {
        method: 'PUT',
        headers: { 'content-range': `bytes ${a}-${b - 1}/${size}`, ...headers },
        body: data.subarray(a, b),
      });
    expect((await put(0, 327680, { authorization: 'Bearer x' })).status).toBe(401);
    expect((await put(0, 1000)).status).toBe(400); // not a multiple of 320 KiB
    const r1 = await put(0, 327680);
    expect(r1.status).toBe(202);
    expect(((await r1.json()) as any).nextExpectedRanges).toEqual([`327680-${size - 1}`]);
    expect((await put(0, 327680)).status).toBe(416);
    expect((await put(327680, 655360)).status).toBe(202);
    const done = await put(655360, size);
    expect(done.status).toBe(201);
    const item = (await done.json()) as any;
    expect(item.size).toBe(size);
    expect(item.file.hashes.quickXorHash).toBe(emulatorQuickXor(data));
  });

  it('enforces If-Match and name conflicts', async () => {
    const it1 = emu.model.putFile(driveId, 'etag.txt', 'one');
    const stale = emu.model.eTag(it1);
    emu.model.putFile(driveId, 'etag.txt', 'two');
    const r = await graph(`/drives/${driveId}/root:/etag.txt:/content`, {
      method: 'PUT',
      headers: { 'if-match': stale },
      body: 'three',
    });
    expect(r.status).toBe(412);
    const r2 = await graph(
      `/drives/${driveId}/root:/etag.txt:/content?@microsoft.graph.conflictBehavior=fail`,
      {
        method: 'PUT',
        body: 'three',
      },
    );
    expect(r2.status).toBe(409);
    expect(((await r2.json()) as any).error.code).toBe('nameAlreadyExists');
    const r3 = await graph(`/drives/${driveId}/root:/bad%3Aname.txt:/content`, {
      method: 'PUT',
      body: 'x',
    });
    expect(r3.status).toBe(400);
  });

  it('searches users only with ConsistencyLevel: eventual', async () => {
    const q = encodeURIComponent('"displayName:ali" OR "mail:ali"');
    expect((await graph(`/users?$search=${q}`)).status).toBe(400);
    const ok = await graph(`/users?$search=${q}`, { headers: { consistencylevel: 'eventual' } });
    const body = (await ok.json()) as any;
    expect(body.value.map((u: { displayName: string }) => u.displayName)).toEqual([
      'Alice Example',
    ]);
  });

  it('injects throttling with Retry-After on any route class and logs every request', async () => {
    const before = emu.requests.length;
    const off = emu.addFault({ routes: ['children'], status: 429, retryAfterSec: 2, count: 1 });
    const r = await graph(`/drives/${driveId}/root/children`);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('2');
    expect((await graph(`/drives/${driveId}/root/children`)).status).toBe(200);
    off();
    const log = emu.requests.slice(before);
    expect(log.some((e) => e.fault === 'status:429' && e.route === 'children')).toBe(true);
    expect(log.every((e) => e.remoteAddress.includes('127.0.0.1'))).toBe(true);
  });

  it('saw no connection leave loopback', () => {
    expect(guard.connections.length).toBeGreaterThan(0);
    expect(guard.violations).toEqual([]);
  });
});
