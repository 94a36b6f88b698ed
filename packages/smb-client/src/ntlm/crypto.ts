import { createHash, createHmac } from 'node:crypto';
import { md4 } from '../crypto/md4.js';

export function hmacMd5(key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
}

export function md5(...data: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const d of data) h.update(d);
  return h.digest();
}

/** NT hash: MD4(UTF-16LE(password)). */
export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/** NTOWFv2 ([MS-NLMP] 3.3.2): HMAC_MD5(MD4(pw), UNICODE(Uppercase(user) + domain)). */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(ntHash(password), Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/** The NTLMv2 client blob ("temp" in [MS-NLMP] 3.3.2). */
export function ntlmv2Blob(timestamp: Buffer, clientChallenge: Buffer, targetInfo: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]),
    timestamp,
    clientChallenge,
    Buffer.alloc(4),
    targetInfo,
    Buffer.alloc(4),
  ]);
}

export interface Ntlmv2Result {
  ntChallengeResponse: Buffer;
  lmChallengeResponse: Buffer;
  sessionBaseKey: Buffer;
  ntProofStr: Buffer;
}

/** Computes the NTLMv2 responses ([MS-NLMP] 3.3.2). */
export function computeNtlmv2(
  responseKey: Buffer,
  serverChallenge: Buffer,
  clientChallenge: Buffer,
  timestamp: Buffer,
  targetInfo: Buffer,
): Ntlmv2Result {
  const temp = ntlmv2Blob(timestamp, clientChallenge, targetInfo);
  const ntProofStr = hmacMd5(responseKey, serverChallenge, temp);
  const ntChallengeResponse = Buffer.concat([ntProofStr, temp]);
  const lmChallengeResponse = Buffer.concat([
    hmacMd5(responseKey, serverChallenge, clientChallenge),
    clientChallenge,
  ]);
  const sessionBaseKey = hmacMd5(responseKey, ntProofStr);
  return { ntChallengeResponse, lmChallengeResponse, sessionBaseKey, ntProofStr };
}

/** FILETIME "now" as 8 little-endian bytes. */
export function filetimeNow(): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(Date.now()) * 10000n + 116444736000000000n);
  return b;
}

const magic = (s: string) => Buffer.from(`session key to ${s} key magic constant\0`, 'latin1');

/** Client/server signing and sealing keys for NTLM session security with extended session security. */
export function sessionSecurityKeys(exportedSessionKey: Buffer): {
  clientSign: Buffer;
  serverSign: Buffer;
  clientSeal: Buffer;
  serverSeal: Buffer;
} {
  return {
    clientSign: md5(exportedSessionKey, magic('client-to-server signing')),
    serverSign: md5(exportedSessionKey, magic('server-to-client signing')),
    clientSeal: md5(exportedSessionKey, magic('client-to-server sealing')),
    serverSeal: md5(exportedSessionKey, magic('server-to-client sealing')),
  };
}
