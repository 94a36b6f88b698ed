import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError, ErrorCode } from './errors.js';

/**
 * AES-256-GCM envelope for secrets at rest (passwords, client secrets, token caches).
 * Format: `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url). The key id travels with the ciphertext so
 * keys can rotate: decrypt with any configured key, encrypt with the primary (newest) one.
 * `context` is bound as additional authenticated data, so a ciphertext copied to another row or field
 * does not decrypt.
 */
export interface SecretKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

const VERSION = 'v1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  private readonly primaryId: string;

  constructor(keys: SecretKey[]) {
    if (keys.length === 0)
      throw new AppError(ErrorCode.CONFIG_INVALID, 'SecretBox needs at least one key');
    for (const k of keys) {
      if (!KEY_ID.test(k.id))
        throw new AppError(ErrorCode.CONFIG_INVALID, `Secret key id "${k.id}" is invalid`);
      if (k.key.length !== 32) {
        throw new AppError(ErrorCode.CONFIG_INVALID, `Secret key "${k.id}" must be 32 bytes`);
      }
      if (this.keys.has(k.id))
        throw new AppError(ErrorCode.CONFIG_INVALID, `Duplicate secret key id "${k.id}"`);
      this.keys.set(k.id, k.key);
    }
    this.primaryId = keys[0]!.id;
  }

  get primaryKeyId(): string {
    return this.primaryId;
  }

  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.primaryId)!, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.primaryId, b64(iv), b64(ct), b64(tag)].join('.');
  }

  decrypt(envelope: string, context: string): string {
    const parts = envelope.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw secretError('unrecognised secret format');
    const [, keyId, ivS, ctS, tagS] = parts as [string, string, string, string, string];
    const key = this.keys.get(keyId);
    if (!key)
      throw secretError(`secret was encrypted with key "${keyId}", which is not configured`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivS, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tagS, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ctS, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch (cause) {
      throw secretError('secret failed authentication (tampered, or wrong key/context)', cause);
    }
  }

  /** True when the envelope was written with an older key and should be re-encrypted. */
  needsRotation(envelope: string): boolean {
    return envelope.split('.')[1] !== this.primaryId;
  }
}

function b64(buf: Buffer): string {
  return buf.toString('base64url');
}

function secretError(message: string, cause?: unknown): AppError {
  return new AppError(ErrorCode.INTERNAL, `Cannot decrypt secret: ${message}`, { cause });
}

/** Parses `id1:base64key1,id2:base64key2` (primary first). */
export function parseSecretKeys(spec: string): SecretKey[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const idx = entry.indexOf(':');
      if (idx <= 0) throw new Error(`expected "<id>:<base64 key>", got an entry without an id`);
      const id = entry.slice(0, idx);
      const key = Buffer.from(entry.slice(idx + 1), 'base64');
      if (key.length !== 32)
        throw new Error(`key "${id}" must decode to 32 bytes (got ${key.length})`);
      return { id, key };
    });
}

export function generateSecretKeySpec(id = 'k1'): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}
