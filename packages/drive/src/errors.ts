import { AppError, ErrorCode, ItemError, type AppErrorOptions } from '@scaidrive/core';

/** A name or path the store cannot hold (`/`, NUL, control characters, `.`/`..`, too long). */
export class NameInvalidError extends ItemError {
  constructor(reason: string, options: AppErrorOptions = {}) {
    super(ErrorCode.NAME_INVALID, `Invalid name: ${reason}`, {
      details: { reason },
      ...options,
    });
  }
}

/** Another live item in the folder has the same name (compared case-insensitively). */
export class NameConflictError extends ItemError {
  constructor(name: string, options: AppErrorOptions = {}) {
    super(
      ErrorCode.NAME_CONFLICT,
      `An item named "${name}" already exists in this folder`,
      options,
    );
  }
}

/** `ifMatch` did not hold: someone changed (or created, or removed) the item meanwhile. */
export class PreconditionFailedError extends ItemError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(ErrorCode.PRECONDITION_FAILED, message, options);
  }
}

export class ItemNotFoundError extends ItemError {
  constructor(what: string, options: AppErrorOptions = {}) {
    super(ErrorCode.ITEM_NOT_FOUND, `${what} not found`, options);
  }
}

/** The share's quota or the storage volume is full. Nothing was committed. */
export class QuotaExceededError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(ErrorCode.QUOTA_EXCEEDED, message, { action: 'fail_job', ...options });
  }
}

/** The streamed content was not what the caller announced (size or SHA-256). Nothing was committed. */
export class ContentMismatchError extends ItemError {
  constructor(code: 'CHECKSUM_MISMATCH' | 'ITEM_CHANGED_DURING_READ', message: string) {
    super(ErrorCode[code], message);
  }
}
