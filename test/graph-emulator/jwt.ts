import { createHash, createSign, createVerify, constants, type KeyObject } from 'node:crypto';

/** Minimal JWS (compact) helpers for the emulator: RS256 signing, RS256/PS256 verification. */

export function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
): string {
  const input = `${b64url(JSON.stringify({ typ: 'JWT', ...header, alg: 'RS256' }))}.${b64url(JSON.stringify(payload))}`;
  const sig = createSign('RSA-SHA256').update(input).sign(key);
  return `${input}.${b64url(sig)}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')),
      payload: JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')),
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    return null;
  }
}

/** Verifies an RS256 or PS256 signature; other algorithms are refused. */
export function verifyJwtSignature(jwt: DecodedJwt, key: KeyObject): boolean {
  const alg = jwt.header.alg;
  const v = createVerify('RSA-SHA256').update(jwt.signingInput);
  if (alg === 'RS256') return v.verify(key, jwt.signature);
  if (alg === 'PS256') {
    return v.verify(
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
      jwt.signature,
    );
  }
  return false;
}

export function sha256b64url(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}
