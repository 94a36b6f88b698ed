import type { Express } from 'express';
import {
  HostGuard,
  retryWithBackoff,
  SecretBox,
  startupRetry,
  type Config,
  type HostResolver,
  type Logger,
  type SecretKey,
} from '@scaidrive/core';
import { Drive, PermissionService } from '@scaidrive/drive';
import { createSmbDriver } from '@scaidrive/connector-smb';
import { createPrismaClient, type PrismaClient } from '@scaidrive/db';
import { createBoss, ensureQueues, queueSettingsFromConfig, type PgBoss } from '@scaidrive/jobs';
import { createApp, type ApiModule } from './app.js';
import { Authenticator, type TokenVerifier } from './auth/authenticator.js';
import { JwtVerifier } from './auth/jwt.js';
import { ServiceTokenService } from './auth/service-tokens.js';
import type { PermissionChecker } from './auth/permissions.js';
import type { ConnectorDrivers } from './drivers/types.js';
import { createSharePointDrivers } from './drivers/sharepoint.js';
import { databaseCheck, queueCheck, type Lifecycle } from './health/readiness.js';
import { connectorsModule, type ConnectorServices } from './routes/connectors/index.js';
import { driveModule } from './routes/drive/index.js';
import { ConnectorAccess } from './services/access.js';
import { AuditLog } from './services/audit.js';
import { ConnectorTestService } from './services/connector-tests.js';
import { ConnectorService } from './services/connectors.js';
import { FileStateService } from './services/file-states.js';
import { IdentityMappingService } from './services/identity-mappings.js';
import { SyncJobQueries } from './services/jobs.js';
import { SharePointAuthService } from './services/sharepoint-auth.js';
import { SyncRequestService } from './services/sync-requests.js';
import { assembleOpenApi } from './openapi/assemble.js';
import { InFlightRequests } from './http/in-flight.js';
import { listen, type RunningServer } from './server.js';
import { API_VERSION } from './version.js';

export interface ComposeOptions {
  config: Config;
  logger: Logger;
  databaseUrl: string;
  secretKeys: SecretKey[];
  /** Reuse existing clients (the standalone app shares them with the worker). */
  prisma?: PrismaClient;
  boss?: PgBoss;
  /** Extra feature modules (share-store routes, …), mounted after the built-in ones. */
  extraModules?: (ctx: ApiContext) => ApiModule[];
  /**
   * Connector drivers (`/test`, SharePoint auth and search); missing ones answer 501. Default: the
   * SMB probe.
   */
  drivers?: ConnectorDrivers;
  /** The built-in share store behind `/shares`, `/folders`, `/files`, …; default: from config. */
  drive?: Drive;
  /** Effective share permissions; default: the share store's PermissionService. */
  permissions?: PermissionChecker;
  /** DNS for the server_host guard (tests inject one). */
  resolveHost?: HostResolver;
  validateResponses?: boolean;
  /** Connect the queue before returning (default true). `main.ts` listens first, then starts. */
  start?: boolean;
}

/** What feature modules get to build their routers. */
export interface ApiContext {
  config: Config;
  logger: Logger;
  prisma: PrismaClient;
  boss: PgBoss;
}

export interface ApiRuntime {
  app: Express;
  prisma: PrismaClient;
  boss: PgBoss;
  lifecycle: Lifecycle;
  serviceTokens: ServiceTokenService;
  services: ConnectorServices;
  drive: Drive;
  listen(port: number, host: string): Promise<RunningServer>;
  /** Connects the queue, retrying with backoff (done by composeApi unless `start: false`). */
  start(options?: { signal?: AbortSignal }): Promise<void>;
  /** SIGTERM path: readiness false, stop accepting, drain, close pools. */
  shutdown(): Promise<void>;
}

/** The composition root of the API: every service is built here with `new`, from config read once. */
export async function composeApi(options: ComposeOptions): Promise<ApiRuntime> {
  const { config, logger } = options;
  const ownsPrisma = !options.prisma;
  const ownsBoss = !options.boss;
  const prisma =
    options.prisma ??
    createPrismaClient({
      connectionString: options.databaseUrl,
      poolSize: config.DATABASE_POOL_SIZE,
    });
  const boss =
    options.boss ??
    createBoss({
      connectionString: options.databaseUrl,
      role: 'api',
      poolSize: config.DATABASE_POOL_SIZE,
    });
  if (ownsBoss) boss.on('error', (err) => logger.error('queue error', { err }));
  let started: Promise<void> | undefined;
  let queueReady = false;
  // Connects the queue (and with it the database). Until it has, `/ready` answers 503 — even when
  // the database already answers (a database made from a template already holds the queues).
  const start = (startOptions: { signal?: AbortSignal } = {}): Promise<void> =>
    (started ??= retryWithBackoff(
      async () => {
        if (ownsBoss) await boss.start();
        // Create what is missing; the workers own the queue's retry and heartbeat settings.
        await ensureQueues(boss, queueSettingsFromConfig(config), { applySettings: false });
        queueReady = true;
      },
      startupRetry(config, logger, startOptions.signal),
    ).catch((err: unknown) => {
      started = undefined;
      throw err;
    }));
  if (options.start ?? true) await start();

  const serviceTokens = new ServiceTokenService(prisma);
  const verifiers: TokenVerifier[] = [serviceTokens];
  if (config.JWT_JWKS_URL && config.JWT_ISSUER) {
    const jwtOptions: ConstructorParameters<typeof JwtVerifier>[1] = {
      jwksUrl: config.JWT_JWKS_URL,
      issuer: config.JWT_ISSUER,
    };
    if (config.JWT_AUDIENCE) jwtOptions.audience = config.JWT_AUDIENCE;
    verifiers.push(new JwtVerifier(prisma, jwtOptions));
  }
  const lifecycle: Lifecycle = { shuttingDown: false };
  const ctx: ApiContext = { config, logger, prisma, boss };

  const secrets = new SecretBox(options.secretKeys);
  const hostGuard = new HostGuard(
    { allow: config.SOURCE_HOST_ALLOWLIST, deny: config.SOURCE_HOST_DENYLIST },
    options.resolveHost,
  );
  const drivers: ConnectorDrivers = options.drivers ?? {
    // `/test` connects to what the saved host name resolves to now, checked again.
    smb: createSmbDriver({
      client: { resolveAddresses: (host) => hostGuard.addressesFor(host) },
    }),
    ...createSharePointDrivers({
      graphBaseUrl: config.GRAPH_BASE_URL,
      authorityHost: config.AZURE_AUTHORITY_HOST,
    }),
  };
  const audit = new AuditLog();
  const access = new ConnectorAccess(prisma, options.permissions ?? new PermissionService(prisma));
  const syncRequests = new SyncRequestService(prisma, boss, audit);
  const connectors = new ConnectorService(prisma, access, secrets, hostGuard, audit, syncRequests);
  const services: ConnectorServices = {
    access,
    connectors,
    syncRequests,
    jobs: new SyncJobQueries(prisma),
    fileStates: new FileStateService(prisma, syncRequests, audit),
    mappings: new IdentityMappingService(prisma, audit),
    tests: new ConnectorTestService(connectors, drivers, config.CONNECTOR_TEST_TIMEOUT_MS),
    sharepointAuth: new SharePointAuthService(
      prisma,
      connectors,
      secrets,
      drivers,
      audit,
      config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`,
      config.CONNECTOR_TEST_TIMEOUT_MS,
    ),
  };
  const drive = options.drive ?? Drive.fromConfig(prisma, config);
  const modules: ApiModule[] = [
    connectorsModule(services),
    driveModule(drive),
    ...(options.extraModules?.(ctx) ?? []),
  ];
  const inFlight = new InFlightRequests();
  const app = createApp({
    logger,
    authenticator: new Authenticator(verifiers),
    openapi: assembleOpenApi(),
    modules,
    readiness: [databaseCheck(prisma), queueCheck(boss, () => queueReady)],
    lifecycle,
    bodyLimit: config.BODY_LIMIT,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    validateResponses: options.validateResponses ?? false,
    version: API_VERSION,
    inFlight,
  });

  let server: RunningServer | undefined;
  let stopping: Promise<void> | undefined;
  return {
    start,
    app,
    prisma,
    boss,
    lifecycle,
    serviceTokens,
    services,
    drive,
    async listen(port, host) {
      server = await listen(app, port, host);
      logger.info('api listening', { host, port: server.port });
      return server;
    },
    shutdown() {
      stopping ??= (async () => {
        lifecycle.shuttingDown = true;
        const budgetMs = config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
        const deadline = Date.now() + Math.max(1000, budgetMs - 3000);
        logger.info('api stopping', { requests_in_flight: inFlight.size });
        if (server) await server.close(deadline - Date.now());
        // Handlers of clients that went away are still running; the pools stay open for them.
        if (!(await inFlight.drained(Math.max(0, deadline - Date.now()))))
          logger.warn('requests still running at the shutdown deadline; stopping anyway', {
            requests_in_flight: inFlight.size,
          });
        if (ownsBoss) await boss.stop({ graceful: true, timeout: 2000 }).catch(() => undefined);
        if (ownsPrisma) await prisma.$disconnect().catch(() => undefined);
        logger.info('api stopped');
      })();
      return stopping;
    },
  };
}
