import { AuthFailedError } from '@scaidrive/core';
import type { AuthMechanism } from '../auth/mechanism.js';
import { protocolError } from '../errors.js';
import { children, decodeOid, encodeOid, readTlv, tlv } from './der.js';

export const SPNEGO_OID = '1.3.6.1.5.5.2';

export const NegState = {
  ACCEPT_COMPLETED: 0,
  ACCEPT_INCOMPLETE: 1,
  REJECT: 2,
  REQUEST_MIC: 3,
} as const;

export interface NegTokenResp {
  negState?: number;
  supportedMech?: string;
  responseToken?: Buffer;
  mechListMic?: Buffer;
}

/** Mechanism OIDs a server advertises in its NegTokenInit(2) hint (NEGOTIATE response). */
export function parseNegTokenInitMechs(token: Buffer): string[] {
  const app = readTlv(token);
  if (app.tag !== 0x60) throw protocolError('SPNEGO: expected [APPLICATION 0]');
  const parts = children(app.value);
  if (parts[0]?.tag !== 0x06 || decodeOid(parts[0].value) !== SPNEGO_OID)
    throw protocolError('SPNEGO: not an SPNEGO token');
  const init = parts[1];
  if (!init || init.tag !== 0xa0) throw protocolError('SPNEGO: expected NegTokenInit');
  const seq = readTlv(init.value);
  for (const el of children(seq.value)) {
    if (el.tag === 0xa0) {
      const list = readTlv(el.value);
      return children(list.value)
        .filter((o) => o.tag === 0x06)
        .map((o) => decodeOid(o.value));
    }
  }
  return [];
}

export function parseNegTokenResp(token: Buffer): NegTokenResp {
  const outer = readTlv(token);
  if (outer.tag !== 0xa1) throw protocolError('SPNEGO: expected NegTokenResp');
  const seq = readTlv(outer.value);
  if (seq.tag !== 0x30) throw protocolError('SPNEGO: expected SEQUENCE');
  const out: NegTokenResp = {};
  for (const el of children(seq.value)) {
    const inner = readTlv(el.value);
    switch (el.tag) {
      case 0xa0:
        if (inner.tag !== 0x0a || inner.value.length !== 1)
          throw protocolError('SPNEGO: bad negState');
        out.negState = inner.value[0]!;
        break;
      case 0xa1:
        if (inner.tag !== 0x06) throw protocolError('SPNEGO: bad supportedMech');
        out.supportedMech = decodeOid(inner.value);
        break;
      case 0xa2:
        if (inner.tag !== 0x04) throw protocolError('SPNEGO: bad responseToken');
        out.responseToken = inner.value;
        break;
      case 0xa3:
        if (inner.tag !== 0x04) throw protocolError('SPNEGO: bad mechListMIC');
        out.mechListMic = inner.value;
        break;
    }
  }
  return out;
}

/**
 * SPNEGO ([MS-SPNG], RFC 4178) initiator carrying one mechanism. Produces the GSS tokens placed in
 * SESSION_SETUP security buffers and checks the server's mechListMIC.
 */
export class SpnegoInitiator {
  private readonly mechTypes: Buffer;
  private done = false;

  constructor(readonly mech: AuthMechanism) {
    this.mechTypes = tlv(0x30, encodeOid(mech.oid));
  }

  get complete(): boolean {
    return this.done;
  }

  initialToken(): Buffer {
    const init = tlv(
      0x30,
      tlv(0xa0, this.mechTypes),
      tlv(0xa2, tlv(0x04, this.mech.initialToken())),
    );
    return tlv(0x60, encodeOid(SPNEGO_OID), tlv(0xa0, init));
  }

  /** Consumes a server token; returns the next token or an empty buffer when nothing is to be sent. */
  step(serverToken: Buffer): Buffer {
    const resp = parseNegTokenResp(serverToken);
    if (resp.negState === NegState.REJECT)
      throw new AuthFailedError('SMB server rejected the authentication (SPNEGO reject)');
    if (resp.supportedMech !== undefined && resp.supportedMech !== this.mech.oid)
      throw new AuthFailedError(`SMB server chose an unsupported mechanism ${resp.supportedMech}`);
    if (!this.mech.complete) {
      if (!resp.responseToken) throw protocolError('SPNEGO: missing response token');
      const next = this.mech.step(resp.responseToken);
      const parts = [tlv(0xa2, tlv(0x04, next))];
      if (this.mech.complete && this.mech.wantsMechListMic && this.mech.getMic) {
        parts.push(tlv(0xa3, tlv(0x04, this.mech.getMic(this.mechTypes))));
      }
      return tlv(0xa1, tlv(0x30, ...parts));
    }
    // Final server token.
    if (resp.mechListMic && this.mech.verifyMic) {
      if (!this.mech.verifyMic(this.mechTypes, resp.mechListMic))
        throw new AuthFailedError('SMB server mechListMIC did not verify');
    }
    if (resp.negState !== undefined && resp.negState !== NegState.ACCEPT_COMPLETED)
      throw protocolError('SPNEGO: authentication not completed');
    this.done = true;
    return Buffer.alloc(0);
  }

  /** Called when the server finished without a final SPNEGO token. */
  finish(): void {
    this.done = true;
  }
}
