import { randomBytes } from 'node:crypto';
import { createPrismaClient, type PrismaClient } from '@scaidrive/db';
import { adminQuery, withDatabase } from './pg-admin.js';

export interface TestDatabase {
  url: string;
  name: string;
  prisma: PrismaClient;
  drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template; one per test file, so files run in parallel. */
export async function createTestDatabase(
  options: { migrated?: boolean } = {},
): Promise<TestDatabase> {
  const adminUrl = process.env.SCAIDRIVE_TEST_ADMIN_URL;
  const tpl = process.env.SCAIDRIVE_TEST_TEMPLATE;
  if (!adminUrl || !tpl)
    throw new Error('test/support/global-setup.ts did not run (use the jest config of the repo)');
  const name = `scaidrive_t_${randomBytes(6).toString('hex')}`;
  const migrated = options.migrated ?? true;
  // CREATE DATABASE … TEMPLATE fails while another session is connected to the template.
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(
        adminUrl,
        migrated ? `CREATE DATABASE "${name}" TEMPLATE "${tpl}"` : `CREATE DATABASE "${name}"`,
      );
      break;
    } catch (err) {
      if (attempt >= 20 || !/being accessed by other users/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  const url = withDatabase(adminUrl, name);
  const prisma = createPrismaClient({ connectionString: url, poolSize: 5 });
  return {
    url,
    name,
    prisma,
    async drop() {
      await prisma.$disconnect().catch(() => undefined);
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
