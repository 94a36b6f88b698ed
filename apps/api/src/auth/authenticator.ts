import { createHash } from 'node:crypto';
import { AppError, ErrorCode } from '@scaidrive/core';
import type { Principal } from './principal.js';

/** Turns a bearer token into a principal, or throws AUTH_TOKEN_INVALID. */
export interface TokenVerifier {
  /** Whether this verifier handles tokens of this shape. */
  accepts(token: string): boolean;
  verify(token: string, tokenKey: string): Promise<Principal>;
}

export function tokenInvalid(message = 'Invalid or expired token'): AppError {
  return new AppError(ErrorCode.AUTH_TOKEN_INVALID, message);
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{16,8192})$/;

export class Authenticator {
  constructor(private readonly verifiers: TokenVerifier[]) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw tokenInvalid('Missing bearer token');
    const m = BEARER.exec(authorization.trim());
    if (!m) throw tokenInvalid('Malformed Authorization header (expected "Bearer <token>")');
    const token = m[1]!;
    const verifier = this.verifiers.find((v) => v.accepts(token));
    if (!verifier) throw tokenInvalid();
    return verifier.verify(token, sha256Hex(token));
  }
}
