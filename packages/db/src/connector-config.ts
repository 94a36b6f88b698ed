import type { SecretBox } from '@scaidrive/core';
import type { Connector } from './generated/prisma/client.js';

/**
 * The decrypted configuration of a connector, as connector packages receive it (the API's `/test`
 * and SharePoint helpers, the worker's sources). Never log or return it.
 */
interface ConnectorConfigBase {
  id: string;
  tenantId: string;
  name: string;
  /** Folder inside the source used as the root, `/`-separated, no leading/trailing slash ('' = root). */
  basePath: string;
}

export interface SmbConnectorConfig extends ConnectorConfigBase {
  kind: 'smb';
  serverHost: string;
  serverPort: number;
  shareName: string;
  domain: string | null;
  username: string;
  /** Decrypted. */
  password: string;
  syncHiddenFiles: boolean;
  syncSystemFiles: boolean;
}

export interface SharePointConnectorConfig extends ConnectorConfigBase {
  kind: 'sharepoint';
  siteUrl: string;
  siteId: string | null;
  driveId: string | null;
  libraryName: string;
  azureTenantId: string;
  azureClientId: string;
  authType: 'app_auth' | 'user_auth';
  /** Decrypted (app_auth with a secret). */
  azureClientSecret: string | null;
  /** Decrypted PEM certificate + private key (app_auth with a certificate). */
  azureCertificate: string | null;
  /** Decrypted serialized MSAL token cache (user_auth, once authorised). */
  tokenCache: string | null;
  authorizedAccountId: string | null;
}

/** A directory on the worker (tests, mounted paths); enabled by ENABLE_LOCAL_CONNECTORS only. */
export interface LocalConnectorConfig extends ConnectorConfigBase {
  kind: 'local';
  syncHiddenFiles: boolean;
}

export type ConnectorConfig = SmbConnectorConfig | SharePointConnectorConfig;
export type AnyConnectorConfig = ConnectorConfig | LocalConnectorConfig;

/** AAD context binding a secret to its connector and field (a ciphertext copied elsewhere fails). */
export function secretContext(connectorId: string, field: string): string {
  return `connector:${connectorId}:${field}`;
}

export function normalizeBasePath(p: string | null | undefined): string {
  return (p ?? '')
    .split(/[\\/]+/)
    .filter((s) => s.length > 0)
    .join('/');
}

export function decryptConnectorConfig(c: Connector, secrets: SecretBox): AnyConnectorConfig {
  const dec = (env: string | null, field: string): string | null =>
    env ? secrets.decrypt(env, secretContext(c.id, field)) : null;
  const base = {
    id: c.id,
    tenantId: c.tenantId,
    name: c.name,
    basePath: normalizeBasePath(c.basePath),
  };
  if (c.kind === 'smb') {
    return {
      ...base,
      kind: 'smb',
      serverHost: c.serverHost ?? '',
      serverPort: c.serverPort ?? 445,
      shareName: c.shareName ?? '',
      domain: c.domain,
      username: c.username ?? '',
      password: dec(c.passwordEnc, 'password') ?? '',
      syncHiddenFiles: c.syncHiddenFiles ?? false,
      syncSystemFiles: c.syncSystemFiles ?? false,
    };
  }
  if (c.kind === 'local') {
    // Keep the leading slash: the base path of a local connector is an absolute directory.
    return {
      ...base,
      basePath: c.basePath ?? '',
      kind: 'local',
      syncHiddenFiles: c.syncHiddenFiles ?? false,
    };
  }
  return {
    ...base,
    kind: 'sharepoint',
    siteUrl: c.siteUrl ?? '',
    siteId: c.siteId,
    driveId: c.driveId,
    libraryName: c.libraryName ?? 'Documents',
    azureTenantId: c.azureTenantId ?? '',
    azureClientId: c.azureClientId ?? '',
    authType: c.authType === 'user_auth' ? 'user_auth' : 'app_auth',
    azureClientSecret: dec(c.azureClientSecretEnc, 'azure_client_secret'),
    azureCertificate: dec(c.azureCertificateEnc, 'azure_certificate'),
    tokenCache: dec(c.tokenCacheEnc, 'token_cache'),
    authorizedAccountId: c.authorizedAccountId,
  };
}
