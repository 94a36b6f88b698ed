import { pathKey, splitPath } from '@scaidrive/core';
import {
  PacerRegistry,
  createSharePointSource,
  type SharePointSource,
  type SharePointSourceConfig,
} from '@scaidrive/connector-sharepoint';
import type { Change, FileStateRecord, StateStore } from '@scaidrive/sync';
import {
  generateClientCertificate,
  installLoopbackGuard,
  startGraphEmulator,
  type EmuGroup,
  type EmuUser,
  type GraphEmulator,
  type GraphEmulatorOptions,
  type LoopbackGuard,
} from '../graph-emulator/index.js';

/** One emulator with a tenant, an app (secret + certificate), users, a group and a site. */
export interface SpFixture {
  emu: GraphEmulator;
  guard: LoopbackGuard;
  tenantId: string;
  clientId: string;
  secret: string;
  certificatePem: string;
  driveId: string;
  siteUrl: string;
  alice: EmuUser;
  bob: EmuUser;
  group: EmuGroup;
  redirectUri: string;
  config(over?: Partial<SharePointSourceConfig>): SharePointSourceConfig;
  source(over?: Partial<SharePointSourceConfig>, store?: StateStore): SharePointSource;
  close(): Promise<void>;
}

export async function startSharePointFixture(
  options: GraphEmulatorOptions = {},
): Promise<SpFixture> {
  const guard = installLoopbackGuard();
  const emu = await startGraphEmulator(options);
  const tenant = emu.model.addTenant({ displayName: 'contoso' });
  const secret = 'app-secret-value';
  const cert = generateClientCertificate();
  const redirectUri = 'http://127.0.0.1:9/oauth/callback';
  const app = emu.model.addApp(tenant.id, {
    secret,
    certificatePem: cert.certPem,
    redirectUris: [redirectUri],
  });
  const alice = emu.model.addUser(tenant.id, {
    displayName: 'Alice Adams',
    mail: 'alice@contoso.example',
  });
  const bob = emu.model.addUser(tenant.id, {
    displayName: 'Bob Brown',
    mail: 'bob@contoso.example',
  });
  const group = emu.model.addGroup(tenant.id, {
    displayName: 'Marketing Team',
    mail: 'marketing@contoso.example',
  });
  const { drive } = emu.model.addSite(tenant.id, {
    path: '/sites/marketing',
    displayName: 'Marketing',
  });
  const pacers = new PacerRegistry({ minSleepMs: 0, maxSleepMs: 50 });
  const sources: SharePointSource[] = [];
  const fx: SpFixture = {
    emu,
    guard,
    tenantId: tenant.id,
    clientId: app.clientId,
    secret,
    certificatePem: cert.certPem + cert.keyPem,
    driveId: drive.id,
    siteUrl: 'https://contoso.sharepoint.com/sites/marketing',
    alice,
    bob,
    group,
    redirectUri,
    config(over = {}) {
      return {
        siteUrl: fx.siteUrl,
        libraryName: 'Documents',
        graphBaseUrl: emu.graphBaseUrl,
        syncVersions: true,
        syncMetadata: true,
        auth: {
          authType: 'app_auth',
          azureTenantId: tenant.id,
          azureClientId: app.clientId,
          clientSecret: secret,
          authorityHost: emu.authorityHost,
        },
        ...over,
      };
    },
    source(over = {}, store) {
      const s = createSharePointSource(fx.config(over), { pacers, stateStore: store });
      sources.push(s);
      return s;
    },
    async close() {
      for (const s of sources) await s.close();
      await emu.close();
      guard.dispose();
    },
  };
  return fx;
}

/**
 * The part of the engine's base that the change feed needs: item id → path. Changes are applied
 * the way the engine applies them (a folder's move carries its subtree along).
 */
export class IdPathStore {
  readonly byId = new Map<string, { path: string; kind: 'file' | 'folder' }>();

  asStateStore(): StateStore {
    const byId = this.byId;
    return {
      async getBySourceId(id: string): Promise<FileStateRecord | null> {
        const v = byId.get(id);
        if (!v) return null;
        return {
          path: v.path,
          pathKey: pathKey(v.path),
          parentKey: pathKey(splitPath(v.path).slice(0, -1).join('/')),
          kind: v.kind,
          status: 'synced',
          source: { id, size: 0, mtimeMs: 0 },
          target: null,
        };
      },
    } as unknown as StateStore;
  }

  set(id: string, path: string, kind: 'file' | 'folder'): void {
    const old = this.byId.get(id);
    if (old && old.path !== path && kind === 'folder') {
      const prefix = pathKey(old.path) + '/';
      for (const [k, v] of this.byId) {
        if (pathKey(v.path).startsWith(prefix)) {
          this.byId.set(k, { ...v, path: path + v.path.slice(old.path.length) });
        }
      }
    }
    this.byId.set(id, { path, kind });
  }

  apply(changes: Change[]): void {
    for (const c of changes) {
      if (c.type === 'upsert') this.set(c.entry.id!, c.entry.path, c.entry.kind);
      else if (c.id) {
        const v = this.byId.get(c.id);
        this.byId.delete(c.id);
        if (v?.kind === 'folder') {
          const prefix = pathKey(v.path) + '/';
          for (const [k, w] of this.byId)
            if (pathKey(w.path).startsWith(prefix)) this.byId.delete(k);
        }
      }
    }
  }

  paths(): string[] {
    return [...this.byId.values()].map((v) => v.path).sort();
  }
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Reads a whole change feed; returns the changes and the final cursor. */
export async function drain(source: SharePointSource, cursor: string, store?: IdPathStore) {
  const changes: Change[] = [];
  let last = cursor;
  let pages = 0;
  for await (const page of source.changes(cursor)) {
    pages++;
    changes.push(...page.changes);
    store?.apply(page.changes);
    last = page.cursor;
  }
  return { changes, cursor: last, pages };
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}
