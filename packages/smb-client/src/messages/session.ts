import { SecurityMode } from '../wire/constants.js';
import { HEADER_SIZE } from '../wire/header.js';
import { bodyReader, bufferAt } from './common.js';

export function encodeSessionSetup(token: Buffer, signingRequired: boolean): Buffer[] {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(25, 0);
  b[2] = 0; // Flags
  b[3] = SecurityMode.SIGNING_ENABLED | (signingRequired ? SecurityMode.SIGNING_REQUIRED : 0);
  b.writeUInt32LE(0, 4); // Capabilities
  b.writeUInt32LE(0, 8); // Channel
  b.writeUInt16LE(HEADER_SIZE + 24, 12);
  b.writeUInt16LE(token.length, 14);
  b.writeBigUInt64LE(0n, 16);
  return [b, token];
}

export function parseSessionSetupResponse(message: Buffer): {
  sessionFlags: number;
  token: Buffer;
} {
  const r = bodyReader(message, 9, 'SESSION_SETUP response');
  const sessionFlags = r.u16();
  const off = r.u16();
  const len = r.u16();
  return { sessionFlags, token: bufferAt(message, off, len, 'SESSION_SETUP security buffer') };
}

export function encodeTreeConnect(path: string): Buffer[] {
  const p = Buffer.from(path, 'utf16le');
  const b = Buffer.alloc(8);
  b.writeUInt16LE(9, 0);
  b.writeUInt16LE(0, 2);
  b.writeUInt16LE(HEADER_SIZE + 8, 4);
  b.writeUInt16LE(p.length, 6);
  return [b, p];
}

export interface TreeConnectResult {
  shareType: number;
  shareFlags: number;
  capabilities: number;
  maximalAccess: number;
}

export function parseTreeConnectResponse(message: Buffer): TreeConnectResult {
  const r = bodyReader(message, 16, 'TREE_CONNECT response');
  const shareType = r.u8();
  r.u8();
  return { shareType, shareFlags: r.u32(), capabilities: r.u32(), maximalAccess: r.u32() };
}

/** Bodies of the 4-byte requests (LOGOFF, TREE_DISCONNECT, ECHO). */
export function encodeEmpty(): Buffer[] {
  return [Buffer.from([4, 0, 0, 0])];
}
