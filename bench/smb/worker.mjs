// One transfer with @scaidrive/smb-client (built dist), in its own process so its peak RSS is its own.
// Usage: node worker.mjs <op> <a> <b>   with SMB_BENCH_OPTS='{"host":…,"port":…,…}' in the environment.
// ops: download <remote> <local> | upload <local> <remote> | small-down <remoteDir> <localDir>
//      | small-up <localDir> <remoteDir>
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SmbClient } from '../../packages/smb-client/dist/index.js';

const [op, a, b] = process.argv.slice(2);
const opts = JSON.parse(process.env.SMB_BENCH_OPTS ?? '{}');
const concurrency = Number(process.env.SMB_BENCH_CONCURRENCY ?? 32);

async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) {
        const item = items[i++];
        await fn(item);
      }
    }),
  );
}

const session = await SmbClient.connect(opts);
const tree = await session.openShare(opts.share ?? 'data');
const t0 = performance.now();
let bytes = 0;
let files = 0;
if (op === 'download') {
  const rs = tree.createReadStream(a);
  rs.on('data', (c) => (bytes += c.length));
  await pipeline(rs, createWriteStream(b));
  files = 1;
} else if (op === 'upload') {
  const info = await tree.writeFile(b, createReadStream(a, { highWaterMark: 1 << 20 }));
  bytes = info.size;
  files = 1;
} else if (op === 'small-down') {
  mkdirSync(b, { recursive: true });
  const names = [];
  for await (const e of tree.list(a)) if (!e.isDirectory) names.push(e.name);
  await pool(names, concurrency, async (name) => {
    const data = await tree.readFile(`${a}/${name}`);
    writeFileSync(path.join(b, name), data);
    bytes += data.length;
    files++;
  });
} else if (op === 'small-up') {
  await tree.mkdir(b, { recursive: true });
  const names = readdirSync(a);
  await pool(names, concurrency, async (name) => {
    const data = readFileSync(path.join(a, name));
    await tree.writeFile(`${b}/${name}`, data);
    bytes += data.length;
    files++;
  });
} else {
  throw new Error(`unknown op ${op}`);
}
const ms = performance.now() - t0;
await session.close();
const maxRssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  JSON.stringify({ op, ms, bytes, files, maxRssMiB, info: session.info ?? null }) + '\n',
);
