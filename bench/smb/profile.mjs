// Profiles one big transfer of ours against a private Samba:
//   node bench/smb/profile.mjs <download|download-sync|upload|upload-stream> [MiB]
// Writes a .cpuprofile per repetition under bench/results/ (PROFILE=0: none) and prints the time
// from outside and inside the process. REPEAT=n repetitions; OUT=/dev/null for downloads without
// the local file; SMB_BENCH_CLIENT as in run.mjs.
import { execFileSync } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSamba } from '../../test/support/samba.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const [op = 'download', mib = '512'] = process.argv.slice(2);
const MiB = 1024 * 1024;
const samba = await startSamba();
try {
  const share = samba.localPath('data');
  const local = path.join(samba.dir, 'local.bin');
  const block = randomBytes(MiB);
  for (const f of [path.join(share, 'big.bin'), local]) {
    const fd = openSync(f, 'w');
    for (let i = 0; i < Number(mib); i++) writeSync(fd, block);
    closeSync(fd);
  }
  chownSync(path.join(share, 'big.bin'), samba.user.uid, 100);
  const profDir = path.join(here, '..', 'results');
  mkdirSync(profDir, { recursive: true });
  const opts = {
    ...samba.clientOptions(),
    share: 'data',
    ...JSON.parse(process.env.SMB_BENCH_CLIENT ?? '{}'),
  };
  const args = op.startsWith('download')
    ? [op, 'big.bin', process.env.OUT ?? path.join(samba.dir, 'out.bin')]
    : [op, local, 'up.bin'];
  const prof = process.env.PROFILE === '0' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
  for (let i = 0; i < Number(process.env.REPEAT ?? 1); i++) {
    execFileSync('rm', ['-f', path.join(samba.dir, 'out.bin'), path.join(share, 'up.bin')]);
    const t0 = performance.now();
    const out = execFileSync(process.execPath, [...prof, path.join(here, 'worker.mjs'), ...args], {
      env: { ...process.env, SMB_BENCH_OPTS: JSON.stringify(opts) },
      encoding: 'utf8',
    });
    const outer = performance.now() - t0;
    const inner = JSON.parse(out.trim().split('\n').at(-1));
    process.stdout.write(
      `outer ${outer.toFixed(0)} ms, inner ${inner.ms.toFixed(0)} ms, rss ${inner.maxRssMiB.toFixed(0)} MiB\n`,
    );
  }
} finally {
  await samba.cleanup();
}
