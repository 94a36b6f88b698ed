import type { Config } from '@scaidrive/core';
import path from 'node:path';
import { LocalChunkStore } from './local.js';
import { S3ChunkStore } from './s3.js';
import type { ChunkStore } from './types.js';

export * from './types.js';
export { LocalChunkStore } from './local.js';
export { S3ChunkStore, type S3ChunkStoreOptions } from './s3.js';

/** The chunk store the configuration asks for (`BLOB_DRIVER`). */
export function createChunkStore(
  config: Pick<
    Config,
    | 'BLOB_DRIVER'
    | 'BLOB_DIR'
    | 'DATA_DIR'
    | 'S3_BUCKET'
    | 'S3_ENDPOINT'
    | 'S3_REGION'
    | 'S3_FORCE_PATH_STYLE'
    | 'S3_ACCESS_KEY_ID'
    | 'S3_SECRET_ACCESS_KEY'
  >,
): ChunkStore {
  if (config.BLOB_DRIVER === 's3') {
    return new S3ChunkStore({
      bucket: config.S3_BUCKET!,
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    });
  }
  return new LocalChunkStore(path.resolve(config.BLOB_DIR ?? path.join(config.DATA_DIR, 'blobs')));
}
