import path from 'node:path';
import { AppError, ErrorCode } from '@scaidrive/core';
import { createLocalTree } from '@scaidrive/sync';
import type { SourceFactory } from './registry.js';

/** A directory on the worker as the source (tests, NFS/SMB mounts). Needs ENABLE_LOCAL_CONNECTORS. */
export const localSource: SourceFactory = async (config) => {
  if (config.kind !== 'local') throw new AppError(ErrorCode.INTERNAL, 'not a local connector');
  if (!path.isAbsolute(config.basePath)) {
    throw new AppError(ErrorCode.CONFIG_INVALID, 'A local connector needs an absolute base_path', {
      action: 'fail_job',
    });
  }
  return createLocalTree(config.basePath);
};
