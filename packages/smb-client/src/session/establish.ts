import { randomBytes } from 'node:crypto';
import { AuthFailedError, type AppError } from '@scaidrive/core';
import type { AuthMechanism } from '../auth/mechanism.js';
import { CipherId, type SmbCipher } from '../crypto/cipher.js';
import { SigningAlgorithm, type Signer } from '../crypto/signing.js';
import { ntStatusError, protocolError } from '../errors.js';
import {
  encodeNegotiateRequest,
  encodeValidateNegotiateInfo,
  parseNegotiateResponse,
  sha512,
  type NegotiateRequestOptions,
  type NegotiateResult,
} from '../messages/negotiate.js';
import { encodeIoctl, parseIoctlResponse } from '../messages/file.js';
import {
  encodeSessionSetup,
  encodeTreeConnect,
  parseSessionSetupResponse,
  parseTreeConnectResponse,
} from '../messages/session.js';
import { NtStatus } from '../ntstatus.js';
import { SpnegoInitiator } from '../spnego/spnego.js';
import {
  Command,
  Dialect,
  Fsctl,
  HeaderFlag,
  RELATED_FILE_ID,
  SecurityMode,
  SessionFlag,
  ShareFlag,
} from '../wire/constants.js';
import { Reader } from '../wire/reader.js';
import type { Connection, SendOptions } from './connection.js';
import { deriveSessionKeys, makeCipher, makeSigner } from './keys.js';

export interface NegotiateOptions {
  dialects: number[];
  requireSigning: boolean;
  serverName: string;
  ciphers?: number[];
  signingAlgorithms?: number[];
}

export interface Negotiated extends NegotiateResult {
  request: NegotiateRequestOptions;
}

export const DEFAULT_CIPHERS = [
  CipherId.AES_128_GCM,
  CipherId.AES_256_GCM,
  CipherId.AES_128_CCM,
  CipherId.AES_256_CCM,
];
export const DEFAULT_SIGNING = [
  SigningAlgorithm.AES_GMAC,
  SigningAlgorithm.AES_CMAC,
  SigningAlgorithm.HMAC_SHA256,
];

export async function negotiate(conn: Connection, o: NegotiateOptions): Promise<Negotiated> {
  const request: NegotiateRequestOptions = {
    dialects: o.dialects,
    signingRequired: o.requireSigning,
    clientGuid: randomBytes(16),
    serverName: o.serverName,
    ciphers: o.ciphers ?? DEFAULT_CIPHERS,
    signingAlgorithms: o.signingAlgorithms ?? DEFAULT_SIGNING,
  };
  let reqRaw: Buffer | undefined;
  const res = await conn.send(
    {
      command: Command.NEGOTIATE,
      body: [encodeNegotiateRequest(request)],
      onWire: (raw) => (reqRaw = raw),
    },
    { sessionId: 0n, sign: false, encrypt: false, verify: false },
  );
  if (res.header.status !== NtStatus.SUCCESS)
    throw ntStatusError(res.header.status, { command: 'NEGOTIATE' });
  const neg = parseNegotiateResponse(res.message, request);
  conn.multiCredit = neg.dialect >= Dialect.SMB210 && (neg.capabilities & 0x4) !== 0;
  const out: Negotiated = { ...neg, request };
  if (neg.dialect === Dialect.SMB311)
    out.preauthHash = sha512(sha512(Buffer.alloc(64), reqRaw!), res.message);
  return out;
}

export interface SessionState {
  sessionId: bigint;
  signer?: Signer;
  cipher?: SmbCipher;
  /** Every request is signed and every response verified. */
  signing: boolean;
  /** Every request of the session is encrypted. */
  encryptData: boolean;
  guest: boolean;
  anonymous: boolean;
}

export interface AuthOptions {
  requireSigning: boolean;
  requireEncryption: boolean;
  allowGuest: boolean;
}

/** SESSION_SETUP rounds with SPNEGO ([MS-SMB2] 3.2.4.2.3, 3.2.5.3). */
export async function authenticate(
  conn: Connection,
  neg: Negotiated,
  mech: AuthMechanism,
  o: AuthOptions,
): Promise<SessionState> {
  const spnego = new SpnegoInitiator(mech);
  let token = spnego.initialToken();
  let sessionId = 0n;
  let hash = neg.preauthHash;
  const signingRequired =
    o.requireSigning || (neg.securityMode & SecurityMode.SIGNING_REQUIRED) !== 0;
  for (let round = 0; ; round++) {
    if (round > 8) throw protocolError('too many SESSION_SETUP rounds');
    let raw: Buffer | undefined;
    const res = await conn.send(
      {
        command: Command.SESSION_SETUP,
        body: encodeSessionSetup(token, signingRequired),
        onWire: (r) => (raw = r),
      },
      { sessionId, sign: false, encrypt: false, verify: false },
    );
    if (hash) hash = sha512(hash, raw!);
    const status = res.header.status;
    if (status === NtStatus.MORE_PROCESSING_REQUIRED) {
      sessionId = res.header.sessionId;
      if (hash) hash = sha512(hash, res.message);
      const { token: serverToken } = parseSessionSetupResponse(res.message);
      token = spnego.step(serverToken);
      continue;
    }
    if (status !== NtStatus.SUCCESS) {
      const err = ntStatusError(status, { command: 'SESSION_SETUP' });
      throw err.code === 'CONNECTOR_AUTH_FAILED'
        ? err
        : new AuthFailedError(err.message, { details: err.details });
    }
    sessionId = res.header.sessionId;
    const { sessionFlags, token: finalToken } = parseSessionSetupResponse(res.message);
    if (finalToken.length) spnego.step(finalToken);
    else spnego.finish();
    if (!mech.complete) throw protocolError('SESSION_SETUP finished before authentication did');
    const guest = (sessionFlags & SessionFlag.IS_GUEST) !== 0;
    const anonymous = (sessionFlags & SessionFlag.IS_NULL) !== 0 || mech.anonymous;
    if ((guest || anonymous) && !o.allowGuest) {
      throw new AuthFailedError(
        `SMB server logged us in as ${guest ? 'guest' : 'anonymous'}; refused (allowGuest is off)`,
      );
    }
    const state: SessionState = { sessionId, signing: false, encryptData: false, guest, anonymous };
    if (!guest && !anonymous) {
      const keys = deriveSessionKeys(neg.dialect, mech.sessionKey(), neg.cipherId, hash);
      state.signer = makeSigner(neg.dialect, neg.signingAlgorithm, keys);
      const cipher = makeCipher(neg.cipherId, keys);
      if (cipher) state.cipher = cipher;
      state.signing = signingRequired;
      const signed = (res.header.flags & HeaderFlag.SIGNED) !== 0;
      if (neg.dialect === Dialect.SMB311 || signed) {
        if (!signed || !state.signer.verify(res.message))
          throw protocolError('final SESSION_SETUP response signature missing or invalid');
      }
      state.encryptData = (sessionFlags & SessionFlag.ENCRYPT_DATA) !== 0 || o.requireEncryption;
      if (state.encryptData && !state.cipher) {
        throw protocolError('encryption required but the server offers no cipher (SMB 3.x needed)');
      }
    } else if (signingRequired && !o.allowGuest) {
      throw new AuthFailedError('signing is required but a guest session cannot sign');
    }
    conn.setSessionCrypto(sessionId, {
      ...(state.signer ? { signer: state.signer } : {}),
      ...(state.cipher ? { cipher: state.cipher } : {}),
    });
    return state;
  }
}

export function sendOptions(s: SessionState, treeEncrypt = false): SendOptions {
  const encrypt = s.encryptData || treeEncrypt;
  return {
    sessionId: s.sessionId,
    sign: s.signing && !encrypt,
    encrypt,
    verify: s.signing && !encrypt,
  };
}

export interface TreeState {
  treeId: number;
  shareType: number;
  shareFlags: number;
  encrypt: boolean;
  maximalAccess: number;
}

export async function treeConnect(
  conn: Connection,
  neg: Negotiated,
  s: SessionState,
  uncPath: string,
  shareName: string,
): Promise<TreeState> {
  // [MS-SMB2] 3.2.4.2.4: with 3.1.1, TREE_CONNECT is signed even when the session is not.
  const opts = sendOptions(s);
  if (neg.dialect === Dialect.SMB311 && s.signer && !opts.encrypt) {
    opts.sign = true;
    opts.verify = true;
  }
  const res = await conn.send(
    { command: Command.TREE_CONNECT, body: encodeTreeConnect(uncPath) },
    opts,
  );
  if (res.header.status !== NtStatus.SUCCESS)
    throw ntStatusError(res.header.status, { command: 'TREE_CONNECT', share: shareName });
  const t = parseTreeConnectResponse(res.message);
  const encrypt = (t.shareFlags & ShareFlag.ENCRYPT_DATA) !== 0 && neg.dialect >= Dialect.SMB300;
  if (encrypt && !s.cipher)
    throw protocolError('share requires encryption but no cipher was negotiated');
  return {
    treeId: res.header.treeId,
    shareType: t.shareType,
    shareFlags: t.shareFlags,
    encrypt,
    maximalAccess: t.maximalAccess,
  };
}

/**
 * Secure dialect negotiation ([MS-SMB2] 3.2.5.5 / FSCTL_VALIDATE_NEGOTIATE_INFO) for 3.0 and 3.0.2:
 * the server's signed answer must match what NEGOTIATE said. Any mismatch ends the connection.
 */
export async function validateNegotiate(
  conn: Connection,
  neg: Negotiated,
  s: SessionState,
  tree: TreeState,
): Promise<void> {
  if (neg.dialect !== Dialect.SMB300 && neg.dialect !== Dialect.SMB302) return;
  if (!s.signer) return;
  const encrypt = s.encryptData || tree.encrypt;
  const res = await conn.send(
    {
      command: Command.IOCTL,
      treeId: tree.treeId,
      body: encodeIoctl({
        ctlCode: Fsctl.VALIDATE_NEGOTIATE_INFO,
        fileId: RELATED_FILE_ID,
        input: encodeValidateNegotiateInfo(neg.request),
        maxOutput: 24,
      }),
    },
    { sessionId: s.sessionId, sign: !encrypt, encrypt, verify: !encrypt },
  );
  if (res.header.status !== NtStatus.SUCCESS) {
    const err: AppError = protocolError('secure dialect negotiation failed', {
      status: res.header.status.toString(16),
    });
    conn.close(err);
    throw err;
  }
  const r = new Reader(parseIoctlResponse(res.message), 0, undefined, 'VALIDATE_NEGOTIATE_INFO');
  const caps = r.u32();
  const guid = r.bytes(16);
  const mode = r.u16();
  const dialect = r.u16();
  if (
    caps !== neg.capabilities ||
    !guid.equals(neg.serverGuid) ||
    mode !== neg.securityMode ||
    dialect !== neg.dialect
  ) {
    const err = protocolError('secure dialect negotiation mismatch (possible downgrade attack)');
    conn.close(err);
    throw err;
  }
}
