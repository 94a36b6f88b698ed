import { Readable } from 'node:stream';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { AppError, ErrorCode } from '@scaidrive/core';
import { QuotaExceededError } from '../errors.js';
import {
  assertChunkRef,
  chunkKey,
  type ChunkStore,
  type StagedChunk,
  type StoredChunk,
} from './types.js';

export interface S3ChunkStoreOptions {
  bucket: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Key prefix inside the bucket (e.g. `scaidrive/`), default none. */
  prefix?: string;
  /** Use an existing client (tests, custom credentials chains). */
  client?: S3Client;
  /** Keys per ListObjectsV2 page (default 1000). */
  listPageSize?: number;
}

type Sdk = typeof S3Sdk;

/**
 * Chunks in an S3-compatible bucket (what several worker pods share). A PUT is atomic: an object
 * is visible whole or not at all, so no temp object is needed. The AWS SDK is loaded on first use
 * (processes on the local driver never pay for it).
 */
export class S3ChunkStore implements ChunkStore {
  readonly kind = 's3' as const;
  private readonly options: S3ChunkStoreOptions;
  private loaded: Promise<{ sdk: Sdk; client: S3Client }> | null = null;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly listPageSize: number | undefined;

  constructor(options: S3ChunkStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.listPageSize = options.listPageSize;
    this.options = options;
  }

  private sdk(): Promise<{ sdk: Sdk; client: S3Client }> {
    this.loaded ??= import('@aws-sdk/client-s3').then((sdk) => {
      const o = this.options;
      const client =
        o.client ??
        new sdk.S3Client({
          endpoint: o.endpoint,
          region: o.region ?? 'us-east-1',
          forcePathStyle: o.forcePathStyle ?? false,
          credentials:
            o.accessKeyId && o.secretAccessKey
              ? { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey }
              : undefined,
          // Plain bodies: aws-chunked uploads with CRC trailers break several S3-compatible servers.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        });
      return { sdk, client };
    });
    return this.loaded;
  }

  private key(tenantId: string, hash: string): string {
    assertChunkRef(tenantId, hash);
    return this.prefix + chunkKey(tenantId, hash);
  }

  async put(tenantId: string, hash: string, data: Uint8Array): Promise<void> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(tenantId, hash),
          Body: data,
          ContentLength: data.byteLength,
          ContentType: 'application/octet-stream',
        }),
      );
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'QuotaExceeded' || name === 'EntityTooLarge' || name === 'InsufficientStorage')
        throw new QuotaExceededError('The object store refused the chunk (storage full)', {
          cause: err,
        });
      throw err;
    }
  }

  /** A PUT is atomic and durable when it returns: nothing left to seal. */
  async stage(tenantId: string, hash: string, data: Uint8Array): Promise<StagedChunk> {
    await this.put(tenantId, hash, data);
    return { seal: async () => undefined, discard: async () => undefined };
  }

  async has(tenantId: string, hash: string): Promise<boolean> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(
        new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(tenantId, hash) }),
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async read(
    tenantId: string,
    hash: string,
    range?: { start: number; end: number },
  ): Promise<Readable> {
    const { sdk, client } = await this.sdk();
    try {
      const out = await client.send(
        new sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(tenantId, hash),
          Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined,
        }),
      );
      const body = out.Body;
      if (body instanceof Readable) return body;
      if (
        body &&
        typeof (body as { transformToWebStream?: unknown }).transformToWebStream === 'function'
      )
        return Readable.fromWeb(
          (body as { transformToWebStream(): ReadableStream }).transformToWebStream() as never,
        );
      throw new AppError(ErrorCode.INTERNAL, 'Object store returned no body');
    } catch (err) {
      if (isNotFound(err))
        throw new AppError(ErrorCode.INTERNAL, `Content chunk ${hash} is missing from the store`);
      throw err;
    }
  }

  async readBuffer(
    tenantId: string,
    hash: string,
    range?: { start: number; end: number },
  ): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const p of await this.read(tenantId, hash, range)) parts.push(p as Buffer);
    return Buffer.concat(parts);
  }

  async delete(tenantId: string, hash: string): Promise<void> {
    const { sdk, client } = await this.sdk();
    await client.send(
      new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(tenantId, hash) }),
    );
  }

  async *list(tenantId?: string): AsyncIterable<StoredChunk> {
    const prefix = this.prefix + (tenantId ? `chunks/${tenantId}/` : 'chunks/');
    const { sdk, client } = await this.sdk();
    let token: string | undefined;
    do {
      const page = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ContinuationToken: token,
          MaxKeys: this.listPageSize,
        }),
      );
      for (const obj of page.Contents ?? []) {
        const parts = (obj.Key ?? '').slice(this.prefix.length).split('/');
        if (parts.length !== 5) continue;
        yield {
          tenantId: parts[1]!,
          hash: parts[4]!,
          size: obj.Size ?? 0,
          modifiedAt: obj.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    if (this.loaded) (await this.loaded).client.destroy();
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
