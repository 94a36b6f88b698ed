import type { Express } from 'express';
import { type Config, type Logger, type SecretKey } from '@scaidrive/core';
import { createPrismaClient, type PrismaClient } from '@scaidrive/db';
import { createBoss, DEFAULT_QUEUE_SETTINGS, ensureQueues, type PgBoss } from '@scaidrive/jobs';
import { createApp, type ApiModule } from './app.js';
import { Authenticator, type TokenVerifier } from './auth/authenticator.js';
import { JwtVerifier } from './auth/jwt.js';
import { ServiceTokenService } from './auth/service-tokens.js';
import { databaseCheck, queueCheck, type Lifecycle } from './health/readiness.js';
import { assembleOpenApi } from './openapi/assemble.js';
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
  validateResponses?: boolean;
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
  listen(port: number, host: string): Promise<RunningServer>;
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
  if (ownsBoss) {
    boss.on('error', (err) => logger.error('queue error', { err }));
    await boss.start();
  }
  await ensureQueues(boss, {
    ...DEFAULT_QUEUE_SETTINGS,
    retryLimit: config.JOB_RETRY_LIMIT,
  });

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
  const modules: ApiModule[] = [...(options.extraModules?.(ctx) ?? [])];
  const app = createApp({
    logger,
    authenticator: new Authenticator(verifiers),
    openapi: assembleOpenApi(),
    modules,
    readiness: [databaseCheck(prisma), queueCheck(boss)],
    lifecycle,
    bodyLimit: config.BODY_LIMIT,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    validateResponses: options.validateResponses ?? false,
    version: API_VERSION,
  });

  let server: RunningServer | undefined;
  let stopping: Promise<void> | undefined;
  return {
    app,
    prisma,
    boss,
    lifecycle,
    serviceTokens,
    async listen(port, host) {
      server = await listen(app, port, host);
      logger.info('api listening', { host, port: server.port });
      return server;
    },
    shutdown() {
      stopping ??= (async () => {
        lifecycle.shuttingDown = true;
        const budgetMs = config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
        logger.info('api stopping');
        if (server) await server.close(Math.max(1000, budgetMs - 3000));
        if (ownsBoss) await boss.stop({ graceful: true, timeout: 2000 }).catch(() => undefined);
        if (ownsPrisma) await prisma.$disconnect().catch(() => undefined);
        logger.info('api stopped');
      })();
      return stopping;
    },
  };
}
