import type { PrismaClient } from '@scaidrive/db';
import { QUEUE_CONNECTOR_SYNC, type PgBoss } from '@scaidrive/jobs';

/** One dependency `/ready` checks; throws (or times out) when it is not usable. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** Shared flag: set when SIGTERM arrives so `/ready` answers 503 while the server drains. */
export interface Lifecycle {
  shuttingDown: boolean;
}

export function databaseCheck(prisma: PrismaClient): ReadinessCheck {
  return {
    name: 'database',
    async check() {
      await prisma.$queryRawUnsafe('SELECT 1');
    },
  };
}

/** The queue is usable once this process has started it (`started`) and its queue exists. */
export function queueCheck(boss: PgBoss, started: () => boolean = () => true): ReadinessCheck {
  return {
    name: 'queue',
    async check() {
      if (!started()) throw new Error('queue not started yet');
      const q = await boss.getQueue(QUEUE_CONNECTOR_SYNC);
      if (!q) throw new Error(`queue ${QUEUE_CONNECTOR_SYNC} does not exist`);
    },
  };
}

export async function runChecks(
  checks: ReadinessCheck[],
  timeoutMs: number,
): Promise<Record<string, 'ok' | 'error'>> {
  const results = await Promise.all(
    checks.map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          c.check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
          }),
        ]);
        return [c.name, 'ok'] as const;
      } catch {
        return [c.name, 'error'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(results);
}
