import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.js';

export { PrismaClient };
export { Prisma } from './generated/prisma/client.js';
export type {
  Tenant,
  User,
  Group,
  GroupMember,
  ServiceToken,
  Share,
  ShareMember,
  Node,
  FileVersion,
  VersionChunk,
  Chunk,
  AclEntry,
  ChangeLog,
  Connector,
  SyncJob,
  FileState,
  IdentityMapping,
  OAuthState,
  AuditEvent,
} from './generated/prisma/client.js';

export interface DbOptions {
  connectionString: string;
  poolSize?: number;
}

export function createPrismaClient(options: DbOptions): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: options.connectionString,
    max: options.poolSize ?? 10,
  });
  return new PrismaClient({ adapter });
}

/** A Prisma transaction client, for functions that must run inside the caller's transaction. */
export type Tx = Omit<
  PrismaClient,
  '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'
>;
