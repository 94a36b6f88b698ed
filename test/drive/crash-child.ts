// Child process of crash.test.ts: starts a large upload and never finishes it, so the parent can
// SIGKILL it after some chunks are stored but before the version commits.
import { Readable } from 'node:stream';
import { createPrismaClient } from '@scaidrive/db';
import { Drive, LocalChunkStore } from '@scaidrive/drive';

const [url, blobDir, tenantId, shareId] = process.argv.slice(2) as [string, string, string, string];
const prisma = createPrismaClient({ connectionString: url, poolSize: 2 });
const drive = new Drive({
  prisma,
  chunkStore: new LocalChunkStore(blobDir),
  chunkSizeBytes: 64 * 1024,
});

async function* endless(): AsyncGenerator<Buffer> {
  for (let i = 0; ; i++) {
    if (i < 10) yield Buffer.alloc(64 * 1024, i + 1);
    else await new Promise((r) => setTimeout(r, 1000)); // stalls: the commit never comes
  }
}
process.send?.('started');
await drive.files.writeFile(
  tenantId,
  shareId,
  { path: '/crash' },
  'half.bin',
  Readable.from(endless(), { objectMode: false }),
  { userId: null },
);
process.send?.('committed?!');
