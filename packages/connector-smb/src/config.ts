import type { SmbClientOptions } from '@scaidrive/smb-client';

/**
 * What the connector needs of a (decrypted) SMB connector configuration. `SmbConnectorConfig` of
 * `@scaidrive/db` and of the API's driver types both fit. Never log it: `password` is plain text.
 */
export interface SmbConnectionConfig {
  /** Connector id (sessions are pooled per connector). */
  id: string;
  serverHost: string;
  /** Default 445. */
  serverPort?: number | null;
  shareName: string;
  /** NTLM domain (NetBIOS or DNS name); empty = the server's own accounts. */
  domain?: string | null;
  username: string;
  password: string;
}

export interface SmbSourceConfig extends SmbConnectionConfig {
  /** Folder in the share that is the connector's root, `/`- or `\`-separated ('' = the share). */
  basePath: string;
}

/** Client options for a connector configuration. */
export function clientOptionsOf(
  config: SmbConnectionConfig,
  extra: Partial<SmbClientOptions> = {},
): SmbClientOptions {
  return {
    ...extra,
    host: config.serverHost,
    port: config.serverPort ?? 445,
    domain: config.domain ?? '',
    username: config.username,
    password: config.password,
  };
}

/** `a\b/c/` → `a/b/c`. */
export function normalizeBase(basePath: string | null | undefined): string {
  return (basePath ?? '')
    .split(/[\\/]+/)
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}
