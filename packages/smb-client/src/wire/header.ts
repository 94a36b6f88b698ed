import { protocolError } from '../errors.js';

export const HEADER_SIZE = 64;
export const SMB2_PROTOCOL_ID = 0x424d53fe; // 0xFE 'S' 'M' 'B' little-endian

export interface Header {
  creditCharge: number;
  status: number;
  command: number;
  credits: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  asyncId: bigint;
  treeId: number;
  sessionId: bigint;
  signature: Buffer;
}

export interface HeaderFields {
  command: number;
  creditCharge: number;
  creditRequest: number;
  flags: number;
  nextCommand?: number;
  messageId: bigint;
  treeId?: number;
  asyncId?: bigint;
  sessionId: bigint;
  channelSequence?: number;
}

export function writeHeader(b: Buffer, f: HeaderFields, at = 0): void {
  b.writeUInt32LE(SMB2_PROTOCOL_ID, at);
  b.writeUInt16LE(HEADER_SIZE, at + 4);
  b.writeUInt16LE(f.creditCharge, at + 6);
  b.writeUInt32LE(f.channelSequence ?? 0, at + 8);
  b.writeUInt16LE(f.command, at + 12);
  b.writeUInt16LE(f.creditRequest, at + 14);
  b.writeUInt32LE(f.flags >>> 0, at + 16);
  b.writeUInt32LE(f.nextCommand ?? 0, at + 20);
  b.writeBigUInt64LE(f.messageId, at + 24);
  if (f.asyncId !== undefined) {
    b.writeBigUInt64LE(f.asyncId, at + 32);
  } else {
    b.writeUInt32LE(0, at + 32);
    b.writeUInt32LE(f.treeId ?? 0, at + 36);
  }
  b.writeBigUInt64LE(f.sessionId, at + 40);
  b.fill(0, at + 48, at + 64);
}

export function readHeader(buf: Buffer, at = 0): Header {
  if (buf.length - at < HEADER_SIZE) throw protocolError('truncated SMB2 header');
  if (buf.readUInt32LE(at) !== SMB2_PROTOCOL_ID) throw protocolError('not an SMB2 message');
  if (buf.readUInt16LE(at + 4) !== HEADER_SIZE) throw protocolError('bad SMB2 header size');
  const flags = buf.readUInt32LE(at + 16);
  const async = (flags & 0x2) !== 0;
  return {
    creditCharge: buf.readUInt16LE(at + 6),
    status: buf.readUInt32LE(at + 8),
    command: buf.readUInt16LE(at + 12),
    credits: buf.readUInt16LE(at + 14),
    flags,
    nextCommand: buf.readUInt32LE(at + 20),
    messageId: buf.readBigUInt64LE(at + 24),
    asyncId: async ? buf.readBigUInt64LE(at + 32) : 0n,
    treeId: async ? 0 : buf.readUInt32LE(at + 36),
    sessionId: buf.readBigUInt64LE(at + 40),
    signature: buf.subarray(at + 48, at + 64),
  };
}

/**
 * Splits a (possibly compounded) response into its messages ([MS-SMB2] 3.2.5.1.?): each NextCommand
 * is 8-byte aligned and must stay inside the frame.
 */
export function splitCompound(frame: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (;;) {
    if (frame.length - off < HEADER_SIZE) throw protocolError('truncated SMB2 message in compound');
    const next = frame.readUInt32LE(off + 20);
    if (next === 0) {
      out.push(frame.subarray(off));
      return out;
    }
    if (next < HEADER_SIZE || next % 8 !== 0 || off + next > frame.length)
      throw protocolError('bad NextCommand offset', { next });
    out.push(frame.subarray(off, off + next));
    off += next;
    if (out.length > 64) throw protocolError('too many compounded messages');
  }
}
