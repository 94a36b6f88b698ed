/**
 * What the API needs from connector packages, and the decrypted configuration it hands them.
 * The SMB and SharePoint packages implement these; main.ts/compose.ts registers them. Until a driver
 * is registered, the endpoints that need it answer `501 NOT_IMPLEMENTED` — never a fake success.
 *
 * Drivers throw `AppError`s from `@scaidrive/core` (UnreachableError, AuthFailedError, TimeoutError,
 * ThrottledError, …) or return a failed TestOutcome; they never log secrets and stop promptly when
 * `signal` aborts.
 */

import type { ConnectorConfig, SharePointConnectorConfig, SmbConnectorConfig } from '@scaidrive/db';
import type { components } from '../generated/openapi.js';

// The decrypted configuration drivers receive is defined (and decrypted) in packages/db, which the
// worker shares.
export type { ConnectorConfig, SmbConnectorConfig, SharePointConnectorConfig } from '@scaidrive/db';
export type ConnectorKind = ConnectorConfig['kind'];

/** Error codes a probe may report: the `error` of `POST …/test`, as the OpenAPI document lists them. */
export type TestErrorCode = NonNullable<components['schemas']['TestResult']['error']>;

export interface TestOutcome {
  success: boolean;
  /** For operators: what was checked and what happened. No secrets. */
  message: string;
  error: TestErrorCode | null;
  /** Safe facts found on the way (dialect, signing, site title…). */
  details?: Record<string, unknown>;
}

/** Connectivity probe for one connector kind (`POST …/test`). */
export interface ConnectorDriver<C extends ConnectorConfig = ConnectorConfig> {
  readonly kind: C['kind'];
  test(config: C, signal: AbortSignal): Promise<TestOutcome>;
}

export interface AzureUser {
  id: string;
  email: string | null;
  name: string | null;
}

export interface AzureGroup {
  id: string;
  name: string | null;
  email: string | null;
}

/**
 * SharePoint delegated auth and directory search. The API owns `state` (random, stored hashed,
 * single-use, 10 min), the PKCE verifier (stored encrypted) and the nonce; the driver talks to
 * Entra ID (MSAL) and returns the serialized token cache, which the API stores encrypted.
 */
export interface SharePointAuthDriver {
  authorizationUrl(
    config: SharePointConnectorConfig,
    request: { state: string; codeChallenge: string; nonce: string; redirectUri: string },
    signal: AbortSignal,
  ): Promise<string>;
  redeemCode(
    config: SharePointConnectorConfig,
    request: { code: string; codeVerifier: string; nonce: string; redirectUri: string },
    signal: AbortSignal,
  ): Promise<{ tokenCache: string; accountId: string; username: string | null }>;
  searchUsers(
    config: SharePointConnectorConfig,
    query: string,
    limit: number,
    signal: AbortSignal,
  ): Promise<AzureUser[]>;
  searchGroups(
    config: SharePointConnectorConfig,
    query: string,
    limit: number,
    signal: AbortSignal,
  ): Promise<AzureGroup[]>;
}

/** What compose.ts registers. Missing entries = that capability is not available (501). */
export interface ConnectorDrivers {
  smb?: ConnectorDriver<SmbConnectorConfig>;
  sharepoint?: ConnectorDriver<SharePointConnectorConfig>;
  sharepointAuth?: SharePointAuthDriver;
}
