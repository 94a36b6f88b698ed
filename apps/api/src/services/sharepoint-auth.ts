import { createHash, randomBytes } from 'node:crypto';
import {
  AppError,
  ConflictError,
  ErrorCode,
  ValidationError,
  classifyError,
  newId,
  type SecretBox,
} from '@scaidrive/core';
import type { Connector, PrismaClient } from '@scaidrive/db';
import type {
  AzureGroup,
  AzureUser,
  ConnectorDrivers,
  SharePointConnectorConfig,
} from '../drivers/types.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit.js';
import { notAvailable } from './connector-tests.js';
import { secretContext, type ConnectorService } from './connectors.js';

export const OAUTH_STATE_TTL_MS = 10 * 60_000;
export const CALLBACK_PATH = '/api/v1/sharepoint-connectors/oauth/callback';

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** SharePoint user_auth (authorisation code + PKCE) and Entra ID directory search. */
export class SharePointAuthService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly connectors: ConnectorService,
    private readonly secrets: SecretBox,
    private readonly drivers: ConnectorDrivers,
    private readonly audit: AuditLog,
    private readonly publicBaseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  get redirectUri(): string {
    return `${this.publicBaseUrl.replace(/\/$/, '')}${CALLBACK_PATH}`;
  }

  async authorize(
    actor: Actor,
    connector: Connector,
  ): Promise<{ url: string; state: string; expiresAt: Date }> {
    const driver = this.drivers.sharepointAuth;
    if (!driver) throw notAvailable('SharePoint authorisation');
    if (connector.authType !== 'user_auth')
      throw new ConflictError(
        'This connector uses app_auth; authorisation is only for auth_type user_auth',
      );
    const state = randomBytes(32).toString('base64url');
    const verifier = randomBytes(48).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const id = newId('oas');
    const expiresAt = new Date(Date.now() + OAUTH_STATE_TTL_MS);
    expiresAt.setMilliseconds(0);
    const config = this.connectors.driverConfig(connector) as SharePointConnectorConfig;
    const url = await this.withTimeout((signal) =>
      driver.authorizationUrl(
        config,
        { state, codeChallenge: challenge, nonce, redirectUri: this.redirectUri },
        signal,
      ),
    );
    await this.prisma.$transaction(async (tx) => {
      await tx.oAuthState.create({
        data: {
          id,
          tenantId: connector.tenantId,
          connectorId: connector.id,
          stateHash: sha256(state),
          codeVerifierEnc: this.secrets.encrypt(verifier, `oauth_state:${id}:code_verifier`),
          nonce,
          redirectUri: this.redirectUri,
          createdBy: actor.principal.userId,
          expiresAt,
        },
      });
      await this.audit.record(tx, actor, {
        action: 'connector.authorization_started',
        resourceType: 'connector',
        resourceId: connector.id,
      });
    });
    return { url, state, expiresAt };
  }

  /** The browser's return from Entra ID. `state` is single-use and identifies the connector. */
  async callback(q: { state: string; code?: string; error?: string; error_description?: string }) {
    const driver = this.drivers.sharepointAuth;
    if (!driver) throw notAvailable('SharePoint authorisation');
    const now = new Date();
    // Claim the state atomically: a second use (or a replay) finds it used.
    const claimed = await this.prisma.oAuthState.updateManyAndReturn({
      where: { stateHash: sha256(q.state), usedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now },
    });
    const st = claimed[0];
    if (!st)
      throw new ValidationError('Unknown, expired or already used authorisation state', [
        {
          field: 'query.state',
          reason: 'is unknown, expired or already used; start again with POST …/authorize',
        },
      ]);
    if (q.error)
      throw new AppError(
        ErrorCode.CONNECTOR_AUTH_FAILED,
        `Entra ID refused the authorisation (${q.error.slice(0, 100)})`,
      );
    if (!q.code)
      throw new ValidationError('Missing authorisation code', [
        { field: 'query.code', reason: 'is required' },
      ]);
    const connector = await this.prisma.connector.findFirst({
      where: { id: st.connectorId, tenantId: st.tenantId, kind: 'sharepoint' },
    });
    if (!connector)
      throw new ValidationError('The connector no longer exists', [
        { field: 'query.state', reason: 'refers to a deleted connector' },
      ]);
    const verifier = this.secrets.decrypt(st.codeVerifierEnc, `oauth_state:${st.id}:code_verifier`);
    const config = this.connectors.driverConfig(connector) as SharePointConnectorConfig;
    const code = q.code;
    const result = await this.withTimeout((signal) =>
      driver.redeemCode(
        config,
        { code, codeVerifier: verifier, nonce: st.nonce, redirectUri: st.redirectUri },
        signal,
      ),
    );
    await this.prisma.$transaction(async (tx) => {
      await tx.connector.update({
        where: { id: connector.id },
        data: {
          tokenCacheEnc: this.secrets.encrypt(
            result.tokenCache,
            secretContext(connector.id, 'token_cache'),
          ),
          authorizedAccountId: result.accountId,
          configRevision: { increment: 1 },
          ...(connector.status === 'error' ? { status: 'idle', statusMessage: null } : {}),
        },
      });
      await tx.auditEvent.create({
        data: {
          id: newId('evt'),
          tenantId: connector.tenantId,
          category: 'ADMIN',
          action: 'connector.authorized',
          actorId: st.createdBy,
          resourceType: 'connector',
          resourceId: connector.id,
          payload: { account: result.username },
        },
      });
    });
    return { connectorId: connector.id, account: result.username };
  }

  async searchUsers(connector: Connector, query: string, limit: number): Promise<AzureUser[]> {
    const driver = this.drivers.sharepointAuth;
    if (!driver) throw notAvailable('Directory search');
    const config = this.connectors.driverConfig(connector) as SharePointConnectorConfig;
    return this.withTimeout((signal) => driver.searchUsers(config, query, limit, signal));
  }

  async searchGroups(connector: Connector, query: string, limit: number): Promise<AzureGroup[]> {
    const driver = this.drivers.sharepointAuth;
    if (!driver) throw notAvailable('Directory search');
    const config = this.connectors.driverConfig(connector) as SharePointConnectorConfig;
    return this.withTimeout((signal) => driver.searchGroups(config, query, limit, signal));
  }

  /** Bounds a driver call; driver failures keep their connector codes, anything else is INTERNAL. */
  private async withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(ac.signal),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            ac.abort();
            reject(
              new AppError(ErrorCode.TIMEOUT, 'Entra ID / Microsoft Graph did not answer in time'),
            );
          }, this.timeoutMs);
        }),
      ]);
    } catch (err) {
      if (err instanceof AppError) throw err;
      const c = classifyError(err);
      throw new AppError(c.code, c.code === ErrorCode.INTERNAL ? 'Internal error' : c.message, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
