import { randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthFailedError } from '@scaidrive/core';
import type { AuthMechanism, PasswordCredentials } from '../auth/mechanism.js';
import { Rc4 } from '../crypto/rc4.js';
import { protocolError } from '../errors.js';
import { AvId, NTLMSSP_OID, NtlmFlag } from './constants.js';
import { computeNtlmv2, filetimeNow, hmacMd5, ntowfv2, sessionSecurityKeys } from './crypto.js';
import { encodeAuthenticate, encodeAvPairs, encodeNegotiate, parseChallenge } from './messages.js';

const CLIENT_FLAGS =
  NtlmFlag.UNICODE |
  NtlmFlag.REQUEST_TARGET |
  NtlmFlag.SIGN |
  NtlmFlag.NTLM |
  NtlmFlag.ALWAYS_SIGN |
  NtlmFlag.EXTENDED_SESSIONSECURITY |
  NtlmFlag.TARGET_INFO |
  NtlmFlag.VERSION |
  NtlmFlag.NEGOTIATE_128 |
  NtlmFlag.KEY_EXCH |
  NtlmFlag.NEGOTIATE_56;

export interface NtlmOptions {
  /** SPN placed in MsvAvTargetName, e.g. `cifs/fileserver`. */
  targetSpn?: string;
  /** Test hooks: fixed client challenge / exported session key / timestamp. */
  clientChallenge?: Buffer;
  exportedSessionKey?: Buffer;
}

/**
 * NTLMSSP with NTLMv2 only ([MS-NLMP]): NEGOTIATE → CHALLENGE → AUTHENTICATE with MIC and session key
 * exchange. Empty username and password = anonymous. NTLMv1/LM are never sent.
 */
export class NtlmMechanism implements AuthMechanism {
  readonly oid = NTLMSSP_OID;
  complete = false;
  anonymous: boolean;
  wantsMechListMic = false;
  private negotiateMsg: Buffer | undefined;
  private exportedKey: Buffer = Buffer.alloc(0) as Buffer;
  private flags = 0;
  private clientSign?: Buffer;
  private serverSign?: Buffer;
  private clientSeal?: Rc4;
  private serverSeal?: Rc4;
  private clientSeq = 0;
  private serverSeq = 0;

  constructor(
    private readonly creds: PasswordCredentials,
    private readonly opts: NtlmOptions = {},
  ) {
    this.anonymous = creds.username === '' && creds.password === '';
  }

  initialToken(): Buffer {
    const flags = this.anonymous ? CLIENT_FLAGS | NtlmFlag.ANONYMOUS : CLIENT_FLAGS;
    this.negotiateMsg = encodeNegotiate(flags);
    return this.negotiateMsg;
  }

  step(serverToken: Buffer): Buffer {
    if (!this.negotiateMsg) throw protocolError('NTLM: challenge before negotiate');
    if (this.complete) throw protocolError('NTLM: unexpected extra token');
    const ch = parseChallenge(serverToken);
    if (!(ch.flags & NtlmFlag.UNICODE))
      throw protocolError('NTLM: server does not support Unicode');
    this.flags = ch.flags & (CLIENT_FLAGS | (this.anonymous ? NtlmFlag.ANONYMOUS : 0));
    this.complete = true;

    if (this.anonymous) {
      const { message } = encodeAuthenticate({
        flags: this.flags | NtlmFlag.ANONYMOUS,
        lmChallengeResponse: Buffer.alloc(1),
        ntChallengeResponse: Buffer.alloc(0),
        domain: '',
        user: '',
        workstation: this.creds.workstation,
        encryptedRandomSessionKey: Buffer.alloc(0),
        withMic: false,
      });
      return message;
    }
    if (!(ch.flags & NtlmFlag.EXTENDED_SESSIONSECURITY))
      throw new AuthFailedError('SMB server offers only NTLMv1 session security; refused');

    const ts = ch.targetInfo.find((p) => p.id === AvId.TIMESTAMP)?.value;
    const haveTimestamp = ts !== undefined && ts.length === 8;
    const pairs = ch.targetInfo.filter(
      (p) => p.id !== AvId.FLAGS && p.id !== AvId.TARGET_NAME && p.id !== AvId.CHANNEL_BINDINGS,
    );
    const existingFlags = ch.targetInfo.find((p) => p.id === AvId.FLAGS)?.value;
    let avFlags = existingFlags && existingFlags.length === 4 ? existingFlags.readUInt32LE(0) : 0;
    if (haveTimestamp) avFlags |= 0x2; // MIC present
    const flagsBuf = Buffer.alloc(4);
    flagsBuf.writeUInt32LE(avFlags);
    pairs.push({ id: AvId.FLAGS, value: flagsBuf });
    pairs.push({ id: AvId.CHANNEL_BINDINGS, value: Buffer.alloc(16) });
    if (this.opts.targetSpn)
      pairs.push({ id: AvId.TARGET_NAME, value: Buffer.from(this.opts.targetSpn, 'utf16le') });
    const targetInfo = encodeAvPairs(pairs);

    const key = ntowfv2(this.creds.password, this.creds.username, this.creds.domain);
    const clientChallenge = this.opts.clientChallenge ?? randomBytes(8);
    const timestamp = haveTimestamp ? Buffer.from(ts) : filetimeNow();
    const r = computeNtlmv2(key, ch.serverChallenge, clientChallenge, timestamp, targetInfo);
    const keyExchangeKey = r.sessionBaseKey;
    let encryptedKey: Buffer = Buffer.alloc(0);
    if (this.flags & NtlmFlag.KEY_EXCH) {
      this.exportedKey = this.opts.exportedSessionKey ?? randomBytes(16);
      encryptedKey = new Rc4(keyExchangeKey).update(this.exportedKey);
    } else {
      this.exportedKey = keyExchangeKey;
    }
    const { message, micOffset } = encodeAuthenticate({
      flags: this.flags,
      lmChallengeResponse: haveTimestamp ? Buffer.alloc(24) : r.lmChallengeResponse,
      ntChallengeResponse: r.ntChallengeResponse,
      domain: this.creds.domain,
      user: this.creds.username,
      workstation: this.creds.workstation,
      encryptedRandomSessionKey: encryptedKey,
      withMic: haveTimestamp,
    });
    if (haveTimestamp) {
      hmacMd5(this.exportedKey, this.negotiateMsg, ch.raw, message).copy(message, micOffset);
      this.wantsMechListMic = true;
    }
    const keys = sessionSecurityKeys(this.exportedKey);
    this.clientSign = keys.clientSign;
    this.serverSign = keys.serverSign;
    this.clientSeal = new Rc4(keys.clientSeal);
    this.serverSeal = new Rc4(keys.serverSeal);
    return message;
  }

  sessionKey(): Buffer {
    return this.exportedKey;
  }

  private mac(signKey: Buffer, seal: Rc4, seq: number, data: Buffer): Buffer {
    const seqBuf = Buffer.alloc(4);
    seqBuf.writeUInt32LE(seq);
    let checksum = hmacMd5(signKey, seqBuf, data).subarray(0, 8);
    if (this.flags & NtlmFlag.KEY_EXCH) checksum = seal.update(checksum);
    const out = Buffer.alloc(16);
    out.writeUInt32LE(1, 0);
    checksum.copy(out, 4);
    seqBuf.copy(out, 12);
    return out;
  }

  getMic(data: Buffer): Buffer {
    if (!this.clientSign || !this.clientSeal)
      throw protocolError('NTLM: MIC before authentication');
    return this.mac(this.clientSign, this.clientSeal, this.clientSeq++, data);
  }

  verifyMic(data: Buffer, mic: Buffer): boolean {
    if (!this.serverSign || !this.serverSeal || mic.length !== 16) return false;
    const expected = this.mac(this.serverSign, this.serverSeal, this.serverSeq++, data);
    return timingSafeEqual(expected, mic);
  }
}
