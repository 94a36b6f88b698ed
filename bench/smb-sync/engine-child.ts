// Child process of bench/smb-sync/run.ts: the SMB Source + the sync engine into a local directory
// (no API, no PostgreSQL, no share store) — the same job `rclone sync smb:… <dir>` does.
// Input: BENCH_CHILD (JSON). Output: one JSON line per run on stdout.
import { createSmbSource, SmbSessionPool } from '../../packages/connector-smb/src/index.ts';
import { createLocalTree, createMemoryStateStore, runSync } from '../../packages/sync/src/index.ts';

interface Input {
  smb: {
    serverHost: string;
    serverPort: number;
    shareName: string;
    domain: string;
    username: string;
    password: string;
    basePath: string;
  };
  targetDir: string;
  runs: number;
  transferConcurrency: number;
}

const input = JSON.parse(process.env.BENCH_CHILD ?? '{}') as Input;
const pool = new SmbSessionPool();
const state = createMemoryStateStore();
const target = createLocalTree(input.targetDir, { fsync: false });
for (let run = 0; run < input.runs; run++) {
  const t0 = performance.now();
  const source = await createSmbSource({ id: 'cnn_bench', ...input.smb }, { pool });
  const summary = await runSync({
    source,
    target,
    state,
    options: {
      direction: 'source_to_target',
      conflictResolution: 'LAST_WRITER_WINS',
      transferConcurrency: input.transferConcurrency,
    },
  });
  await source.close();
  const ms = performance.now() - t0;
  process.stdout.write(
    `${JSON.stringify({
      run,
      status: summary.status,
      seconds: Math.round(ms) / 1000,
      files_scanned: summary.progress.filesScanned,
      files_synced: summary.progress.filesSynced,
      bytes: summary.progress.bytesTransferred,
      errors: summary.progress.errorCount,
      rss_mib: Math.round(process.memoryUsage().rss / 1048576),
      peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
      message: summary.message,
    })}\n`,
  );
}
await pool.closeAll();
