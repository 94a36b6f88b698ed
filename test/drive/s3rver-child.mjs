// Runs s3rver in its own process (started with `node --openssl-legacy-provider`: s3rver's
// continuation tokens use DES, which OpenSSL 3 only has in the legacy provider). Reports its port
// over IPC and serves until killed.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../packages/drive/package.json'));
const S3rver = require('s3rver');
const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
process.send?.({ port });
