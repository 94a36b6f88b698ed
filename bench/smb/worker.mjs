// One transfer with @scaidrive/smb-client (built dist), in its own process so its peak RSS is its own.
// Usage: node worker.mjs <op> <a> <b>   with SMB_BENCH_OPTS='{"host":…,"port":…,…}' in the environment.
// ops: download <remote> <local> | download-stream <remote> <local> | upload <local> <remote>
//      | upload-stream <local> <remote> | small-down <remoteDir> <localDir>
//      | small-up <localDir> <remoteDir>
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
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

// Small-file runs spread over several sessions: Samba serves each connection with one process, so
// parallel sessions use more than one server core (rclone does the same with its connection pool).
const nSessions = op.startsWith('small') ? Number(process.env.SMB_BENCH_SESSIONS ?? 4) : 1;
const sessions = await Promise.all(
  Array.from({ length: nSessions }, () => SmbClient.connect(opts)),
);
const trees = await Promise.all(sessions.map((s) => s.openShare(opts.share ?? 'data')));
const session = sessions[0];
const tree = trees[0];
let rr = 0;
const nextTree = () => trees[rr++ % trees.length];
const t0 = performance.now();
let bytes = 0;
let files = 0;
if (op === 'download') {
  // The recycling path: response buffers are reused after the file stream's write callback.
  bytes = await tree.download(a, createWriteStream(b));
  files = 1;
} else if (op === 'download-sync') {
  // Experiment: the same download into a Writable that writes synchronously (no thread-pool hop).
  const { openSync, writeSync, closeSync } = await import('node:fs');
  const { Writable } = await import('node:stream');
  const fd = openSync(b, 'w');
  bytes = await tree.download(
    a,
    new Writable({
      highWaterMark: 8 << 20,
      write(chunk, _enc, cb) {
        try {
          writeSync(fd, chunk);
          cb();
        } catch (err) {
          cb(err);
        }
      },
      final(cb) {
        closeSync(fd);
        cb();
      },
    }),
  );
  files = 1;
} else if (op === 'download-stream') {
  const rs = tree.createReadStream(a);
  rs.on('data', (c) => (bytes += c.length));
  await pipeline(rs, createWriteStream(b));
  files = 1;
} else if (op === 'upload') {
  // The recycling path: a few buffers refilled from the file once their WRITE has been answered.
  const fh = await open(a, 'r');
  try {
    const { size } = await fh.stat();
    const read = (buf, position) => fh.read(buf, 0, buf.length, position).then((r) => r.bytesRead);
    bytes = (await tree.upload(b, read, { size })).size;
  } finally {
    await fh.close();
  }
  files = 1;
} else if (op === 'upload-stream') {
  // The stream path (what the product's SMB target uses): one fresh buffer per chunk read.
  const info = await tree.writeFile(b, createReadStream(a, { highWaterMark: 1 << 20 }));
  bytes = info.size;
  files = 1;
} else if (op === 'small-down') {
  mkdirSync(b, { recursive: true });
  const entries = [];
  for await (const e of tree.list(a)) if (!e.isDirectory) entries.push(e);
  await pool(entries, concurrency, async ({ name, size }) => {
    const data = await nextTree().readFile(`${a}/${name}`, { sizeHint: size });
    writeFileSync(path.join(b, name), data);
    bytes += data.length;
    files++;
  });
} else if (op === 'small-up') {
  await tree.mkdir(b, { recursive: true });
  const names = readdirSync(a);
  await pool(names, concurrency, async (name) => {
    const data = readFileSync(path.join(a, name));
    await nextTree().writeFile(`${b}/${name}`, data);
    bytes += data.length;
    files++;
  });
} else {
  throw new Error(`unknown op ${op}`);
}
const ms = performance.now() - t0;
const info = session.info ?? null;
await Promise.all(sessions.map((s) => s.close()));
// VmHWM is this process's own peak RSS (ru_maxrss would include the parent's, inherited over exec).
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
const maxRssMiB = hwm ? Number(hwm[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  JSON.stringify({ op, ms, bytes, files, maxRssMiB, sessions: nSessions, info }) + '\n',
);
