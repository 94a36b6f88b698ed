// SMB benchmark: @scaidrive/smb-client vs smbclient and rclone on the same private loopback Samba.
// Not part of `pnpm test`. See bench/README.md. Results: bench/results/smb-<stamp>.{json,md}.
import { execFile, execFileSync } from 'node:child_process';
import {
  chownSync,
  mkdirSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
  existsSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// Node 24 strips the types of this TypeScript helper (it uses only erasable syntax).
import { startSamba } from '../../test/support/samba.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const RUNS = Number(process.env.SMB_BENCH_RUNS ?? 6);
const ORDERS = [
  ['ours', 'smbclient', 'rclone'],
  ['smbclient', 'rclone', 'ours'],
  ['rclone', 'ours', 'smbclient'],
  ['ours', 'rclone', 'smbclient'],
  ['rclone', 'smbclient', 'ours'],
  ['smbclient', 'ours', 'rclone'],
];
const BIG = Number(process.env.SMB_BENCH_BIG_BYTES ?? 1024 ** 3);
const SMALL_N = Number(process.env.SMB_BENCH_SMALL_FILES ?? 5000);
const SMALL_SIZE = 4096;
const MiB = 1024 * 1024;

function sh(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 256 * MiB },
      (err, stdout, stderr) => {
        const ms = performance.now() - t0;
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve({ ms, stdout, stderr });
      },
    );
  });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (
  !existsSync(path.join(root, 'packages/smb-client/dist/index.js')) ||
  process.env.SMB_BENCH_BUILD !== '0'
) {
  execFileSync(path.join(root, 'node_modules/.bin/tsc'), ['-b', 'packages/smb-client'], {
    cwd: root,
    stdio: 'inherit',
  });
}

const samba = await startSamba();
const work = path.join(samba.dir, 'bench-local');
mkdirSync(work, { recursive: true });
const results = {
  date: new Date().toISOString(),
  runs: RUNS,
  bigBytes: BIG,
  smallFiles: SMALL_N,
  smallSize: SMALL_SIZE,
  cases: {},
};
try {
  // SMB_BENCH_CLIENT: extra client options as JSON (e.g. '{"maxIoSize":4194304,"ioDepth":4}').
  const opts = {
    ...samba.clientOptions(),
    share: 'data',
    ...JSON.parse(process.env.SMB_BENCH_CLIENT ?? '{}'),
  };
  const authFile = path.join(samba.dir, 'bench-auth');
  writeFileSync(
    authFile,
    `username = ${samba.user.username}\npassword = ${samba.user.password}\ndomain = ${samba.workgroup}\n`,
    { mode: 0o600 },
  );
  const smbclient = (cmds) =>
    sh('smbclient', [
      '//127.0.0.1/data',
      '-s',
      samba.confPath,
      '-p',
      String(samba.port),
      '-A',
      authFile,
      '-c',
      cmds,
    ]);
  const obscured = execFileSync('rclone', ['obscure', samba.user.password], {
    encoding: 'utf8',
  }).trim();
  const rcloneEnv = {
    RCLONE_CONFIG_BENCH_TYPE: 'smb',
    RCLONE_CONFIG_BENCH_HOST: '127.0.0.1',
    RCLONE_CONFIG_BENCH_PORT: String(samba.port),
    RCLONE_CONFIG_BENCH_USER: samba.user.username,
    RCLONE_CONFIG_BENCH_PASS: obscured,
    RCLONE_CONFIG_BENCH_DOMAIN: samba.workgroup,
  };
  const rclone = (...args) => sh('rclone', [...args, '--config', '/dev/null'], rcloneEnv);
  const ours = async (op, a, b) => {
    const r = await sh(process.execPath, [path.join(here, 'worker.mjs'), op, a, b], {
      SMB_BENCH_OPTS: JSON.stringify(opts),
    });
    const inner = JSON.parse(r.stdout.trim().split('\n').at(-1));
    // Wall time from outside, like the other tools (includes process start and connect).
    return { ...inner, innerMs: inner.ms, ms: r.ms };
  };

  // Fixtures: the 1 GiB file and the small files live on the server's disk; local copies for uploads.
  const share = samba.localPath('data');
  const bigServer = path.join(share, 'big.bin');
  const bigLocal = path.join(work, 'big-local.bin');
  const block = randomBytes(MiB);
  for (const f of [bigServer, bigLocal]) {
    const fd = openSync(f, 'w');
    for (let off = 0; off < BIG; off += MiB) {
      block.writeUInt32LE(off / MiB, 0);
      writeSync(fd, block, 0, Math.min(MiB, BIG - off));
    }
    closeSync(fd);
  }
  chownSync(bigServer, samba.user.uid, 100);
  const smallServer = path.join(share, 'small');
  const smallLocal = path.join(work, 'small-local');
  mkdirSync(smallServer);
  mkdirSync(smallLocal);
  chownSync(smallServer, samba.user.uid, 100);
  for (let i = 0; i < SMALL_N; i++) {
    const d = randomBytes(SMALL_SIZE);
    writeFileSync(path.join(smallServer, `f${i}.bin`), d);
    writeFileSync(path.join(smallLocal, `f${i}.bin`), d);
  }

  const cases = {
    'download 1 GiB': {
      ours: async () => ours('download', 'big.bin', path.join(work, 'dl-ours.bin')),
      smbclient: async () => smbclient(`get big.bin ${path.join(work, 'dl-smbclient.bin')}`),
      rclone: async () => rclone('copyto', 'bench:data/big.bin', path.join(work, 'dl-rclone.bin')),
      cleanup: () =>
        ['dl-ours.bin', 'dl-smbclient.bin', 'dl-rclone.bin'].forEach((f) =>
          rmSync(path.join(work, f), { force: true }),
        ),
      unit: 'MiB/s',
      amount: BIG / MiB,
    },
    // The same read without the local file: on these VMs writing fresh page cache is slow at
    // random moments (0.1-1 s per 512 MiB, for any writer), which swamps the protocol's own cost.
    'download 1 GiB to /dev/null': {
      ours: async () => ours('download', 'big.bin', '/dev/null'),
      smbclient: async () => smbclient('get big.bin /dev/null'),
      rclone: async () =>
        sh('sh', ['-c', 'rclone cat bench:data/big.bin --config /dev/null > /dev/null'], rcloneEnv),
      cleanup: () => undefined,
      unit: 'MiB/s',
      amount: BIG / MiB,
    },
    'upload 1 GiB': {
      ours: async () => ours('upload', bigLocal, 'up-ours.bin'),
      smbclient: async () => smbclient(`put ${bigLocal} up-smbclient.bin`),
      rclone: async () => rclone('copyto', bigLocal, 'bench:data/up-rclone.bin'),
      cleanup: () =>
        ['up-ours.bin', 'up-smbclient.bin', 'up-rclone.bin'].forEach((f) =>
          rmSync(path.join(share, f), { force: true }),
        ),
      unit: 'MiB/s',
      amount: BIG / MiB,
    },
    [`download ${SMALL_N} x 4 KiB`]: {
      ours: async () => ours('small-down', 'small', path.join(work, 'sd-ours')),
      smbclient: async () => {
        mkdirSync(path.join(work, 'sd-smbclient'), { recursive: true });
        return smbclient(`prompt OFF; lcd ${path.join(work, 'sd-smbclient')}; cd small; mget *`);
      },
      rclone: async () =>
        rclone('copy', 'bench:data/small', path.join(work, 'sd-rclone'), '--transfers', '8'),
      cleanup: () =>
        ['sd-ours', 'sd-smbclient', 'sd-rclone'].forEach((f) =>
          rmSync(path.join(work, f), { recursive: true, force: true }),
        ),
      unit: 'files/s',
      amount: SMALL_N,
    },
    [`upload ${SMALL_N} x 4 KiB`]: {
      ours: async () => ours('small-up', smallLocal, 'su-ours'),
      smbclient: async () =>
        smbclient(`prompt OFF; lcd ${smallLocal}; mkdir su-smbclient; cd su-smbclient; mput *`),
      rclone: async () => rclone('copy', smallLocal, 'bench:data/su-rclone', '--transfers', '8'),
      cleanup: () =>
        ['su-ours', 'su-smbclient', 'su-rclone'].forEach((f) =>
          rmSync(path.join(share, f), { recursive: true, force: true }),
        ),
      unit: 'files/s',
      amount: SMALL_N,
    },
  };
  const only = process.env.SMB_BENCH_ONLY;
  for (const [name, c] of Object.entries(cases)) {
    if (only && !name.includes(only)) continue;
    const times = { ours: [], smbclient: [], rclone: [] };
    let rss = 0;
    for (let run = 0; run < RUNS; run++) {
      // Runs cycle through the six orders of the tools: on these VMs a tool's time depends on who
      // ran just before it (whoever follows rclone's 1 GiB upload was 2–4× slower, even after a
      // `sync`), and a plain rotation let one tool follow rclone twice as often as another.
      for (const tool of ORDERS[run % ORDERS.length]) {
        c.cleanup();
        const r = await c[tool]();
        times[tool].push(r.ms);
        if (tool === 'ours') rss = Math.max(rss, r.maxRssMiB);
        const inner =
          r.innerMs === undefined ? '' : ` (transfer ${(r.innerMs / 1000).toFixed(2)} s)`;
        process.stderr.write(
          `${name} run ${run + 1} ${tool}: ${(r.ms / 1000).toFixed(2)} s${inner}\n`,
        );
      }
    }
    c.cleanup();
    const rate = (ms) => c.amount / (ms / 1000);
    const row = { unit: c.unit, peakRssMiB: Math.round(rss) };
    for (const tool of ['ours', 'smbclient', 'rclone'])
      row[tool] = {
        medianMs: Math.round(median(times[tool])),
        rate: Math.round(rate(median(times[tool]))),
      };
    row.vsSmbclient = +(row.ours.rate / row.smbclient.rate).toFixed(2);
    row.vsRclone = +(row.ours.rate / row.rclone.rate).toFixed(2);
    row.vsBest = +(row.ours.rate / Math.max(row.smbclient.rate, row.rclone.rate)).toFixed(2);
    results.cases[name] = row;
  }
} finally {
  await samba.cleanup();
}

const lines = [
  `SMB benchmark ${results.date} (median of ${RUNS}; loopback Samba; ${os()})`,
  '',
  '| case | ours | smbclient | rclone | ours/smbclient | ours/rclone | ours/best | peak RSS (ours) |',
  '|---|---|---|---|---|---|---|---|',
  ...Object.entries(results.cases).map(
    ([name, r]) =>
      `| ${name} | ${r.ours.rate} ${r.unit} | ${r.smbclient.rate} ${r.unit} | ${r.rclone.rate} ${r.unit} | ${r.vsSmbclient}× | ${r.vsRclone}× | ${r.vsBest}× | ${r.peakRssMiB} MiB |`,
  ),
];
function os() {
  return `${process.platform}, node ${process.version}`;
}
const outDir = path.join(root, 'bench/results');
mkdirSync(outDir, { recursive: true });
const stamp = results.date.replace(/[:.]/g, '-');
writeFileSync(path.join(outDir, `smb-${stamp}.json`), JSON.stringify(results, null, 2));
writeFileSync(path.join(outDir, `smb-${stamp}.md`), lines.join('\n') + '\n');
console.log(lines.join('\n'));
